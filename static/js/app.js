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
