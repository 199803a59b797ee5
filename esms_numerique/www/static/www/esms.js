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

// The page a form sent to with an anchor (the simulator's #resultat) takes the focus there: a screen reader reads
// the result, a keyboard goes on from it.
document.addEventListener("DOMContentLoaded", function () {
  var target = window.location.hash && document.getElementById(window.location.hash.slice(1));
  if (target) {
    if (!target.hasAttribute("tabindex")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus({ preventScroll: false });
  }
});

// Text being typed survives a session that expired (issue 12). What is typed in a textarea of any form sent by POST
// (and in every field of a form marked data-brouillon) is kept in the tab's sessionStorage, keyed by the form's
// address and the field's name. Sending the form marks the draft « sent »; the sign-in page marks sent drafts
// « interrupted » (the sending led to it). On any other page, a sent draft is dropped (it arrived), and an
// interrupted or unsent draft is put back into its empty field, with a notice.
(function () {
  var PREFIX = "esms-brouillon:";
  var store;
  try {
    store = window.sessionStorage;
    store.setItem(PREFIX + "test", "1");
    store.removeItem(PREFIX + "test");
  } catch (error) {
    return; // no storage (private mode, policy): nothing to keep
  }

  function actionOf(form) {
    var url = new URL(form.getAttribute("action") || window.location.href, window.location.href);
    return url.pathname;
  }

  function kept(field) {
    if (!field.name || !field.form || field.type === "password" || field.type === "hidden" || field.type === "file") {
      return false;
    }
    var form = field.form;
    if ((form.getAttribute("method") || "").toLowerCase() !== "post" || form.querySelector("input[type=password]")) {
      return false;
    }
    return field.tagName === "TEXTAREA" || form.hasAttribute("data-brouillon");
  }

  function keyOf(field) {
    return PREFIX + actionOf(field.form) + ":" + field.name;
  }

  function read(key) {
    try {
      return JSON.parse(store.getItem(key));
    } catch (error) {
      return null;
    }
  }

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (field instanceof HTMLElement && (field.tagName === "TEXTAREA" || field.tagName === "INPUT") && kept(field)) {
      if (field.value) {
        store.setItem(keyOf(field), JSON.stringify({ value: field.value, state: "typed" }));
      } else {
        store.removeItem(keyOf(field));
      }
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    Array.prototype.forEach.call(form.elements || [], function (field) {
      var draft = kept(field) && read(keyOf(field));
      if (draft) {
        draft.state = "sent";
        store.setItem(keyOf(field), JSON.stringify(draft));
      }
    });
  });

  function drafts() {
    var keys = [];
    for (var i = 0; i < store.length; i += 1) {
      if (store.key(i).indexOf(PREFIX) === 0) {
        keys.push(store.key(i));
      }
    }
    return keys;
  }

  function notice(form) {
    if (form.querySelector(".esms-brouillon-notice")) {
      return;
    }
    var box = document.createElement("div");
    box.className = "fr-alert fr-alert--info fr-alert--sm fr-mb-2w esms-brouillon-notice";
    box.setAttribute("role", "status");
    var text = document.createElement("p");
    text.textContent = "Le texte que vous aviez saisi a été gardé et remis ici : vérifiez-le, puis envoyez-le.";
    box.appendChild(text);
    form.insertBefore(box, form.firstChild);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var onSignIn = document.querySelector("form input[type=password]") !== null;
    drafts().forEach(function (key) {
      var draft = read(key);
      if (!draft) {
        store.removeItem(key);
        return;
      }
      if (onSignIn) {
        if (draft.state === "sent") {
          draft.state = "interrupted";
          store.setItem(key, JSON.stringify(draft));
        }
        return;
      }
      if (draft.state === "sent") {
        store.removeItem(key);
        return;
      }
      var rest = key.slice(PREFIX.length);
      var cut = rest.lastIndexOf(":");
      var action = rest.slice(0, cut);
      var name = rest.slice(cut + 1);
      Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
        var field = form.elements.namedItem(name);
        if (field && field.tagName && actionOf(form) === action && kept(field) && !field.value) {
          field.value = draft.value;
          draft.state = "typed";
          store.setItem(key, JSON.stringify(draft));
          notice(form);
        }
      });
    });
  });
})();

// A signed-in session ends after SESSION_COOKIE_AGE seconds without a request (D-AUDIT-KEY): two minutes before,
// the page says so. What is being typed is kept (above) and put back after signing in again.
(function () {
  var seconds = parseInt(document.body && document.body.getAttribute("data-session-seconds"), 10);
  if (!seconds || seconds <= 120) {
    return;
  }
  var timer;
  function warn() {
    if (document.getElementById("session-warning")) {
      return;
    }
    var box = document.createElement("div");
    box.id = "session-warning";
    box.className = "fr-alert fr-alert--warning fr-alert--sm fr-mb-2w";
    box.setAttribute("role", "alert");
    var text = document.createElement("p");
    text.textContent =
      "Votre session va expirer dans 2 minutes faute d'activité. Enregistrez ce que vous saisissez, ou rechargez la " +
      "page pour la prolonger ; un texte en cours de saisie est gardé dans ce navigateur.";
    box.appendChild(text);
    var main = document.getElementById("content");
    if (main) {
      main.insertBefore(box, main.firstChild);
    }
  }
  function arm() {
    window.clearTimeout(timer);
    timer = window.setTimeout(warn, (seconds - 120) * 1000);
  }
  document.addEventListener("htmx:afterRequest", arm);
  arm();
})();

// A table wider than the screen scrolls sideways (DSFR tables, on a phone): a keyboard reaches it only if it can take
// the focus (RGAA 7.3, axe « scrollable-region-focusable »). Each such scroller gets tabindex=0 while it scrolls.
(function () {
  function scrollers() {
    var found = [];
    document.querySelectorAll(".fr-table, .fr-table table, .fr-table__container, .fr-table__wrapper").forEach(
      function (element) {
        var overflow = window.getComputedStyle(element).overflowX;
        if ((overflow === "auto" || overflow === "scroll") && element.scrollWidth > element.clientWidth + 1) {
          found.push(element);
        }
      }
    );
    return found;
  }
  function update() {
    document.querySelectorAll("[data-esms-scroll-focus]").forEach(function (element) {
      element.removeAttribute("tabindex");
      element.removeAttribute("data-esms-scroll-focus");
    });
    scrollers().forEach(function (element) {
      if (!element.hasAttribute("tabindex")) {
        element.setAttribute("tabindex", "0");
        element.setAttribute("data-esms-scroll-focus", "");
      }
    });
  }
  var pending;
  function later() {
    window.clearTimeout(pending);
    pending = window.setTimeout(update, 150);
  }
  document.addEventListener("DOMContentLoaded", update);
  window.addEventListener("load", update);
  window.addEventListener("resize", later);
  document.addEventListener("htmx:afterSwap", later);
})();
