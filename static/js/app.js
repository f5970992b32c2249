// Behaviour that used to sit in inline handlers: the CSP allows only scripts from this site.
(function () {
  "use strict";

  // <button data-print>: print the page.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-print]");
    if (button) {
      event.preventDefault();
      window.print();
    }
  });

  // <button data-confirm="Question?">: ask before submitting its form.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // Idle sign-out warning, on pages with a form to fill in: two minutes before the session
  // ends for inactivity, say so and offer to stay signed in (so typed work is not lost).
  var body = document.body;
  var idleSeconds = parseInt(body.getAttribute("data-session-idle-seconds") || "0", 10);
  var keepaliveUrl = body.getAttribute("data-keepalive-url");
  var hasForm = document.querySelector("main form[method='post']");
  if (!idleSeconds || !keepaliveUrl || !hasForm) {
    return;
  }
  var warnBefore = Math.min(120, Math.floor(idleSeconds / 2));
  var timer = null;
  var banner = null;

  function csrfToken() {
    try {
      return JSON.parse(body.getAttribute("hx-headers"))["X-CSRFToken"];
    } catch (error) {
      return "";
    }
  }

  function hideWarning() {
    if (banner) {
      banner.remove();
      banner = null;
    }
  }

  function showWarning() {
    if (banner) {
      return;
    }
    banner = document.createElement("div");
    banner.className = "alert alert-warning d-flex align-items-center gap-3 session-warning";
    banner.setAttribute("role", "alert");
    var text = document.createElement("span");
    text.textContent =
      "You will be signed out in " + Math.round(warnBefore / 60) + " minutes because " +
      "nothing has been saved or opened for a while. Anything typed but not saved will be lost.";
    var stay = document.createElement("button");
    stay.type = "button";
    stay.className = "btn btn-sm btn-primary";
    stay.textContent = "Stay signed in";
    stay.addEventListener("click", function () {
      fetch(keepaliveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken() },
      }).then(function (response) {
        if (response.ok) {
          hideWarning();
          schedule();
        } else {
          window.location.reload();
        }
      });
    });
    banner.append(text, stay);
    document.querySelector("main").prepend(banner);
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(showWarning, (idleSeconds - warnBefore) * 1000);
  }

  schedule();
})();

// Small progressive enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", () => {
  // A form that failed: move focus to its error summary so screen readers announce it.
  const summary = document.querySelector(".error-summary");
  if (summary) summary.focus();
  // A table that scrolls sideways in its own area can be scrolled with the keyboard too.
  for (const area of document.querySelectorAll(".table-responsive, table.day-list")) {
    if (area.scrollWidth > area.clientWidth && !area.hasAttribute("tabindex")) {
      area.setAttribute("tabindex", "0");
    }
  }
});

// The flow board's observation timers: the minutes since observation started, counted on
// from what the server rendered (so a ward PC's wrong clock does not matter), with no request
// (so an open board does not keep an idle session signed in).
(function () {
  "use strict";
  var seen = new WeakMap();
  function tick() {
    var now = performance.now();
    document.querySelectorAll("[data-observation-minutes]").forEach(function (timer) {
      if (!seen.has(timer)) {
        seen.set(timer, now);
        return;
      }
      var base = parseInt(timer.getAttribute("data-observation-minutes"), 10);
      var minutes = timer.querySelector("[data-minutes]");
      if (!Number.isNaN(base) && minutes) {
        minutes.textContent = base + Math.floor((now - seen.get(timer)) / 60000) + " min";
      }
    });
  }
  tick();
  window.setInterval(tick, 5000);
})();

// Progressive disclosure: a fieldset marked data-shown-for="<select id>" data-shown-when="<value>"
// is shown only while that select holds that value. Without JavaScript it is always shown (the
// server uses its answers only with that value).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  document.querySelectorAll("[data-shown-for]").forEach(function (part) {
    var select = document.getElementById(part.getAttribute("data-shown-for"));
    if (!select) {
      return;
    }
    function update() {
      part.hidden = select.value !== part.getAttribute("data-shown-when");
    }
    select.addEventListener("change", update);
    update();
  });
});
