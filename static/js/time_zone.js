/* Cat Feeder: the sign-up form sends the browser's time zone (a hidden field), so an owner's
   pages show their own time from the start; the profile page changes it later. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("input[data-browser-time-zone]"), function (input) {
      if (!input.value) { input.value = zone; }
    });
  });
})();
