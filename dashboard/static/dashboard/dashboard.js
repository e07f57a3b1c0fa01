// Refreshes the dashboard's panels in place: fetches them every few seconds and swaps them in,
// so the page never reloads. Pauses while the tab is hidden.
"use strict";

(function () {
  const root = document.getElementById("dashboard");
  if (!root) {
    return;
  }
  const panels = document.getElementById("dashboard-panels");
  const status = root.querySelector(".dashboard-status");
  const interval = Number(root.dataset.refreshSeconds) * 1000;
  let refreshes = 0;

  async function refresh() {
    if (document.hidden) {
      return;
    }
    try {
      const response = await fetch(root.dataset.panelsUrl, { credentials: "same-origin" });
      // An expired session answers with the login page after a redirect.
      if (response.redirected) {
        throw new Error("signed out");
      }
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      panels.innerHTML = await response.text();
      refreshes += 1;
      root.dataset.refreshes = String(refreshes);
      status.textContent = "Live: refreshed at " + new Date().toLocaleTimeString();
      status.classList.remove("stale");
    } catch (error) {
      status.textContent = "Not refreshed (" + error.message + "); reload the page.";
      status.classList.add("stale");
    }
  }

  if (interval > 0) {
    window.setInterval(refresh, interval);
    document.addEventListener("visibilitychange", refresh);
  }
})();
