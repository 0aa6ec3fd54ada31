// Service status page: reload the table every few seconds, without a page reload.
(function () {
  "use strict";
  const box = document.getElementById("ops-status");
  if (!box) return;
  const every = Number(box.dataset.refresh || 5) * 1000;
  const stamp = document.getElementById("ops-refreshed");
  async function refresh() {
    try {
      const response = await fetch(box.dataset.url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
      if (response.ok) {
        box.innerHTML = await response.text();
        if (stamp) stamp.textContent = "Last update " + new Date().toLocaleTimeString() + ".";
      } else if (stamp) {
        stamp.textContent = "Update failed (" + response.status + ").";
      }
    } catch (error) {
      if (stamp) stamp.textContent = "Update failed: the server does not answer.";
    }
    setTimeout(refresh, every);
  }
  setTimeout(refresh, every);
})();
