/* Behaviours of the pages, here rather than in inline handlers: the Content-Security-Policy allows scripts from the
   site only (docs/decisions.md, D-LIMITS). */
"use strict";

// A filter that applies as soon as it is chosen: <select data-submit-on-change>.
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field instanceof HTMLElement && field.matches("[data-submit-on-change]") && field.form) {
    field.form.submit();
  }
});
