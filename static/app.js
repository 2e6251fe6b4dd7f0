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
