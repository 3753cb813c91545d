// Times in the reader's own time zone, written as the server writes them (lti_tool/dates.py):
// "30 November 2026 at 8:14am", "... GMT" where the zone is named. The server is told the zone
// once, so later pages (and pages without JavaScript) are already in it.
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  var report = document.getElementById("tz-report");
  var known = report ? report.dataset.known : "UTC";
  function parts(d) {
    var out = {};
    new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric", weekday: "long",
      hour: "numeric", minute: "2-digit", hourCycle: "h23", timeZoneName: "short" })
      .formatToParts(d).forEach(function (p) { out[p.type] = p.value; });
    return out;
  }
  function clock(p) {
    var h = parseInt(p.hour, 10), m = parseInt(p.minute, 10);
    if (m === 0 && (h === 0 || h === 12)) return h === 0 ? "midnight" : "midday";
    return (h % 12 || 12) + (m ? ":" + p.minute : "") + (h < 12 ? "am" : "pm");
  }
  function write(d, style, weekday) {
    var p = parts(d), day = (weekday ? p.weekday + " " : "") + p.day + " " + p.month + " " + p.year;
    if (style === "date") return day;
    if (style === "time") return clock(p);
    return day + " at " + clock(p) + (style === "zone" ? " " + p.timeZoneName : "");
  }
  if (zone !== known) {
    document.querySelectorAll("time[data-local]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) t.textContent = write(d, t.dataset.local, t.hasAttribute("data-weekday"));
    });
  }
  if (report && zone && zone !== known && window.fetch) {
    fetch(report.dataset.url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": report.dataset.csrf },
      body: JSON.stringify({ tz: zone }) });
  }
  window.npqWriteTime = write;
})();
