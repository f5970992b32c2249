// The live flow board (templates/schedules/day.html; issue 20 §1). Every page works without it.
//
// - The poll (htmx, every BOARD_POLL_SECONDS) sends the ETag the board was rendered with
//   (htmx does not send If-None-Match by itself); a 304 leaves the board as it is.
// - A refresh keeps keyboard focus on the same control of the same row (or the row), and the
//   "More" menus that were open; after a button pressed in place, focus stays on its row (on
//   the row's next step when there is one), not the top of the page.
// - Time in stage, the long-wait highlight and the observation alert count on from what the
//   server rendered (seconds at render time, so a ward computer's wrong clock does not matter);
//   each observation alert is announced once (aria-live polite), never again on a refresh.
(function () {
  "use strict";
  var live = document.getElementById("board-live");
  if (!live) {
    return;
  }
  var announcer = document.getElementById("board-announcer");
  var actions = new Set(); // in-place actions still in flight (their XMLHttpRequest)
  var focusRow = null; // the row to keep focus on after an in-place action
  var restore = null; // where focus was before a refresh
  var rendered = new WeakMap();
  var STORE = "board-announced";

  function loadAnnounced() {
    try {
      return new Set(JSON.parse(window.sessionStorage.getItem(STORE) || "[]"));
    } catch (error) {
      return new Set();
    }
  }
  var announced = loadAnnounced();

  function announce(text) {
    if (!announcer || !text) {
      return;
    }
    var line = document.createElement("p");
    line.textContent = text;
    announcer.append(line);
    while (announcer.childElementCount > 5) {
      announcer.firstElementChild.remove();
    }
  }

  function keyOf(element) {
    if (element.matches("a[href]")) {
      return "a " + element.getAttribute("href");
    }
    if (element.matches("button")) {
      var form = element.closest("form");
      return "button " + (form ? form.getAttribute("action") : "") + " " + element.textContent.trim();
    }
    if (element.matches("summary")) {
      return "summary";
    }
    return "";
  }

  function focusIn(row, key) {
    var controls = row.querySelectorAll("a[href], button, summary");
    for (var i = 0; i < controls.length; i += 1) {
      if (key && keyOf(controls[i]) === key) {
        controls[i].focus({ preventScroll: true });
        return;
      }
    }
    row.focus({ preventScroll: true });
  }

  document.body.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt === live) {
      var etag = live.getAttribute("data-etag");
      if (etag) {
        event.detail.headers["If-None-Match"] = etag;
      }
    }
  });

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt === live) {
      actions.forEach(function (xhr) {
        if (xhr.readyState === 4) {
          actions.delete(xhr);
        }
      });
      if (actions.size) {
        event.preventDefault(); // an action's answer is on its way: refresh next time
      }
      return;
    }
    if (live.contains(elt)) {
      actions.add(event.detail.xhr);
      var row = elt.closest("tr.board-row");
      focusRow = row ? row.id : null;
    }
  });

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.elt !== live) {
      return;
    }
    var xhr = event.detail.xhr;
    if (xhr.status === 304) {
      event.detail.shouldSwap = false;
      return;
    }
    if (xhr.status !== 200) {
      return;
    }
    var etag = xhr.getResponseHeader("ETag");
    if (etag) {
      live.setAttribute("data-etag", etag);
    }
    var active = document.activeElement;
    var row = active && live.contains(active) ? active.closest("tr.board-row") : null;
    restore = {
      row: row ? row.id : null,
      key: row && active !== row ? keyOf(active) : "",
      open: Array.prototype.map.call(live.querySelectorAll("details[open]"), function (d) {
        var owner = d.closest("tr.board-row");
        return owner ? owner.id : "";
      }),
    };
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.elt === live && restore) {
      restore.open.forEach(function (id) {
        var details = id && document.querySelector("#" + id + " details");
        if (details) {
          details.open = true;
        }
      });
      var row = restore.row && document.getElementById(restore.row);
      if (row) {
        focusIn(row, restore.key);
      }
      restore = null;
    }
    tick();
  });

  document.body.addEventListener("htmx:afterSettle", function () {
    if (!focusRow) {
      return;
    }
    var row = document.getElementById(focusRow);
    focusRow = null;
    if (row) {
      var next = row.querySelector(".board-primary");
      if (next) {
        next.focus({ preventScroll: true });
      } else {
        row.focus({ preventScroll: true });
      }
    }
  });

  function since(element, now) {
    if (!rendered.has(element)) {
      rendered.set(element, now);
    }
    return Math.floor((now - rendered.get(element)) / 1000);
  }

  function tick() {
    var now = performance.now();
    live.querySelectorAll("[data-stage-seconds]").forEach(function (element) {
      var seconds = parseInt(element.getAttribute("data-stage-seconds"), 10) + since(element, now);
      var limit = parseInt(element.getAttribute("data-wait-limit"), 10);
      if (Number.isNaN(seconds) || Number.isNaN(limit)) {
        return;
      }
      var minutes = element.querySelector("[data-stage-minutes]");
      if (minutes) {
        minutes.textContent = Math.floor(seconds / 60) + " min";
      }
      var tooLong = seconds > limit;
      var flag = element.querySelector(".board-wait-flag");
      if (flag) {
        flag.hidden = !tooLong;
      }
      var row = element.closest("tr.board-row");
      if (row) {
        row.classList.toggle("board-waiting", tooLong);
      }
    });
    live.querySelectorAll("[data-observation-left]").forEach(function (alert) {
      var left = parseInt(alert.getAttribute("data-observation-left"), 10) - since(alert, now);
      if (Number.isNaN(left) || left > 0) {
        return;
      }
      alert.hidden = false;
      var key = alert.getAttribute("data-alert-key");
      if (!announced.has(key)) {
        announced.add(key);
        try {
          window.sessionStorage.setItem(STORE, JSON.stringify(Array.from(announced).slice(-200)));
        } catch (error) {
          // Private browsing without storage: announced once per page instead.
        }
        announce(alert.getAttribute("data-announce"));
      }
    });
  }

  tick();
  window.setInterval(tick, 1000);
})();
