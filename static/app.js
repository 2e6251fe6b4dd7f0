// Datadock's only script of its own: keep aria-invalid in step with the error under each field
// after htmx swaps verify results in (no inline script, so the CSP stays default-src 'self').
(function () {
  "use strict";
  function syncInvalid() {
    document.querySelectorAll("p.field-error[id$='-error']").forEach(function (slot) {
      var input = document.getElementById(slot.id.slice(0, -"-error".length));
      if (!input) { return; }
      if (slot.textContent.trim()) { input.setAttribute("aria-invalid", "true"); }
      else { input.removeAttribute("aria-invalid"); }
    });
  }
  document.addEventListener("htmx:afterSettle", syncInvalid);
  document.addEventListener("htmx:oobAfterSwap", syncInvalid);
})();
// A Copy button (data-copy="<input id>") copies that input's value: invitation links, new keys.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-copy]") : null;
    if (!button) { return; }
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input) { return; }
    input.select();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(input.value).then(done, function () {
        document.execCommand("copy"); done();
      });
    } else { document.execCommand("copy"); done(); }
  });
})();
// The source form: "Retry without SSL" turns SSL off before htmx sends the form (capture phase,
// so it runs before htmx's own click handler), and the spinner counts seconds against the
// verify deadline while a verify or save runs (htmx disables the buttons meanwhile).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-retry-without-ssl]") : null;
    if (!button || !button.form) { return; }
    var ssl = button.form.querySelector("#sslEnabled");
    if (ssl) { ssl.checked = false; }
  }, true);
  var timer = null;
  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    var slot = document.getElementById("verify-elapsed");
    if (slot) { slot.textContent = ""; }
  }
  function isVerifyOrSave(event) {
    var form = document.getElementById("source-form");
    var elt = event.detail && event.detail.elt;
    return !!(form && elt && (elt === form || elt.closest("#source-form .actions, #verify-result")));
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!isVerifyOrSave(event)) { return; }
    var form = document.getElementById("source-form");
    stop();
    var started = Date.now();
    var deadline = form.getAttribute("data-deadline");
    var tick = function () {
      var slot = document.getElementById("verify-elapsed");
      if (!slot) { return; }
      var seconds = Math.floor((Date.now() - started) / 1000);
      slot.textContent = " " + seconds + " s" + (deadline ? " of " + deadline + " s" : "");
    };
    tick();
    timer = setInterval(tick, 250);
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (isVerifyOrSave(event)) { stop(); }
  });
})();
