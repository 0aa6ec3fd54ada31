/* Cat Feeder: the colour theme. "light", "dark" or nothing (follow the system), kept in
   localStorage. Loaded in <head>, before the first paint, so the page never flashes the other theme. */
(function () {
  "use strict";
  var KEY = "catfeeder-theme";
  var ORDER = ["", "light", "dark"];
  var NAMES = { "": "Auto", light: "Light", dark: "Dark" };
  var root = document.documentElement;

  function stored() {
    try { return localStorage.getItem(KEY) || ""; } catch (e) { return ""; }
  }
  function apply(theme) {
    if (theme) { root.dataset.theme = theme; } else { delete root.dataset.theme; }
  }
  apply(stored());

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector("[data-theme-toggle]");
    if (!button) { return; }
    var label = button.querySelector("[data-theme-label]");
    function show() {
      var name = NAMES[root.dataset.theme || ""];
      label.textContent = name;
      button.setAttribute("aria-label", "Colour theme: " + name + " (change)");
    }
    show();
    button.addEventListener("click", function () {
      var next = ORDER[(ORDER.indexOf(root.dataset.theme || "") + 1) % ORDER.length];
      try {
        if (next) { localStorage.setItem(KEY, next); } else { localStorage.removeItem(KEY); }
      } catch (e) { /* private mode: the choice lasts for this page only */ }
      apply(next);
      show();
    });
  });
})();
