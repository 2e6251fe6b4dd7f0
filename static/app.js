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
