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
// The dialect select: each dialect's typed values (never a secret) are remembered for the
// page's life and come back when that dialect is chosen again; a value the server carried
// over from the dialect just left (a field that means the same thing) wins. A dialect chosen
// before htmx loaded (or restored by the browser) gets its own fields once htmx is there.
(function () {
  "use strict";
  var memo = {};
  var carried = {};
  var pending = 0;
  function fieldset() { return document.getElementById("dialect-fields"); }
  function shownDialect() {
    var box = fieldset();
    var hidden = box ? box.querySelector("input[name='fieldsetDialect']") : null;
    return hidden ? hidden.value : null;
  }
  function inputs(box) {
    return Array.prototype.filter.call(box.querySelectorAll("input[name], select[name], textarea[name]"),
      function (el) { return el.type !== "password" && el.type !== "hidden"; });
  }
  function remember() {
    var box = fieldset();
    var key = shownDialect();
    if (!box || !key) { return; }
    var values = {};
    carried = {};
    inputs(box).forEach(function (el) {
      values[el.name] = el.type === "checkbox" ? el.checked : el.value;
      if (el.type !== "checkbox" && el.value) { carried[el.name] = true; }
    });
    memo[key] = values;
  }
  function restore() {
    var box = fieldset();
    var values = memo[shownDialect()];
    if (!box || !values) { return; }
    inputs(box).forEach(function (el) {
      if (!(el.name in values) || (carried[el.name] && el.type !== "checkbox" && el.value)) { return; }
      if (el.type === "checkbox") { el.checked = values[el.name]; } else { el.value = values[el.name]; }
    });
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.id === "dialect" && elt.closest("#source-form")) { remember(); pending += 1; }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    // Only after a dialect switch: a pasted connection string's values are not overwritten.
    // Counted: a second switch may start before the first one's fields have settled.
    if (pending > 0 && event.target && event.target.id === "dialect-fields") { pending -= 1; restore(); }
  });
  document.addEventListener("htmx:load", function (event) {
    var select = document.getElementById("dialect");
    if (!select || !select.closest("#source-form") || !event.detail || event.detail.elt !== document.body) {
      return;
    }
    var shown = shownDialect();
    if (shown && select.value !== shown && window.htmx) { window.htmx.trigger(select, "change"); }
  });
})();
