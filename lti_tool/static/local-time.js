// Times in the reader's own time zone; the server is told the zone once, so pages rendered
// without JavaScript use it too.
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  document.querySelectorAll("time[data-local]").forEach(function (t) {
    var d = new Date(t.getAttribute("datetime"));
    if (isNaN(d)) return;
    var opts = t.dataset.local === "date" ? { dateStyle: "medium" } : { dateStyle: "medium", timeStyle: "short" };
    t.textContent = d.toLocaleString([], opts) + (t.dataset.local === "zone" ? " (" + zone + ")" : "");
  });
  var report = document.getElementById("tz-report");
  if (report && zone && zone !== report.dataset.known && window.fetch) {
    fetch(report.dataset.url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": report.dataset.csrf },
      body: JSON.stringify({ tz: zone }) });
  }
})();
