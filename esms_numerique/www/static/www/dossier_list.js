/* The dossier list's filters (issue 12). A state or deadline chosen with the mouse applies at once; on a closed
   select, the arrow keys only move the choice — Enter, or the « Filtrer » button, applies it: the page no longer
   reloads on each arrow key. */
"use strict";

(function () {
  var keyed = null; // the select the keyboard is moving through

  function filter(event) {
    var field = event.target;
    return field instanceof HTMLSelectElement && field.matches("[data-submit-on-choice]") && field.form ? field : null;
  }

  function send(form) {
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.submit();
    }
  }

  document.addEventListener("pointerdown", function () {
    keyed = null;
  });
  document.addEventListener("keydown", function (event) {
    var field = filter(event);
    if (!field) {
      return;
    }
    if (event.key === "Enter") {
      event.preventDefault();
      send(field.form);
    } else {
      keyed = field;
    }
  });
  document.addEventListener("change", function (event) {
    var field = filter(event);
    if (field && keyed !== field) {
      send(field.form);
    }
  });
})();
