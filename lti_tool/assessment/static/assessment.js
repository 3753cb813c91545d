// Case-study assessment pages: live word counts against the cap, the time left before the
// deadline, times labelled with the browser's time zone, and date-time inputs sent as UTC.
// Everything works without this script: times then read as UTC, as the page says.
(function () {
  "use strict";
  var tz = "";
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { tz = ""; }
  if (tz) {
    document.querySelectorAll("[data-tz]").forEach(function (el) { el.textContent = "(your time zone, " + tz + ")"; });
    document.querySelectorAll("[data-tz-name]").forEach(function (el) { el.textContent = "your time zone (" + tz + ")"; });
  }

  // Typed local date-times go to the server as UTC, worked out by the browser (daylight saving included).
  document.querySelectorAll("form[data-utc-form]").forEach(function (f) {
    f.addEventListener("submit", function () {
      f.querySelectorAll("input[data-utc-target]").forEach(function (input) {
        var hidden = f.querySelector("input[name='" + input.dataset.utcTarget + "']");
        if (!hidden) return;
        var d = input.value ? new Date(input.value) : null;
        hidden.value = d && !isNaN(d) ? d.toISOString() : "";
      });
    });
  });

  var countdown = document.querySelector("[data-deadline]");
  if (countdown) {
    var due = new Date(countdown.dataset.deadline);
    var plural = function (n, word) { return n + " " + word + (n === 1 ? "" : "s"); };
    var tick = function () {
      var ms = due - Date.now();
      if (isNaN(ms)) return;
      if (ms <= 0) {
        countdown.textContent = "The deadline has passed: you can still submit, but it will be recorded as late.";
        countdown.className = "countdown late";
        return;
      }
      var d = Math.floor(ms / 86400000), h = Math.floor(ms % 86400000 / 3600000), m = Math.floor(ms % 3600000 / 60000);
      countdown.textContent = d ? plural(d, "day") + " " + plural(h, "hour") : plural(h, "hour") + " " + plural(m, "minute");
      countdown.className = "countdown" + (d < 1 ? " soon" : "");
    };
    tick();
    setInterval(tick, 30000);
  }

  var form = document.getElementById("activity-form");
  if (!form || !form.dataset.wordCap) return;
  var cap = parseInt(form.dataset.wordCap, 10);
  var count = function (text) { var m = (text || "").match(/\S+/g); return m ? m.length : 0; };
  var update = function () {
    var total = 0;
    form.querySelectorAll("textarea[data-qid]").forEach(function (t) {
      var n = count(t.value);
      total += n;
      var out = form.querySelector("[data-words-for='" + t.dataset.qid + "']");
      if (out) out.textContent = n.toLocaleString("en-GB");
    });
    var el = document.getElementById("word-total");
    if (!el) return;
    el.textContent = "";
    var strong = document.createElement("strong");
    strong.textContent = total.toLocaleString("en-GB");
    el.appendChild(strong);
    el.appendChild(document.createTextNode(" of " + cap.toLocaleString("en-GB") + " words"));
    if (total > cap) {
      var over = document.createElement("span");
      over.className = "over";
      over.textContent = " · over the cap by " + (total - cap).toLocaleString("en-GB") + ": you cannot submit until it is within the cap";
      el.appendChild(over);
    }
    el.classList.toggle("is-over", total > cap);
  };
  form.addEventListener("input", update);
  form.addEventListener("autosaved", update);
  update();
  setTimeout(update, 600); // after a draft kept on this device has been put back
})();
