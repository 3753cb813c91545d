// Write-up editor niceties: live word counts against the limit, live risk ratings.
(function () {
  "use strict";
  var form = document.getElementById("activity-form");
  if (!form) return;
  var limit = parseInt(form.dataset.wordLimit || "0", 10);
  function count(text) { var m = (text || "").match(/\S+/g); return m ? m.length : 0; }
  function words() {
    var total = 0;
    form.querySelectorAll("textarea[data-words]").forEach(function (t) {
      var n = count(t.value);
      total += n;
      var out = t.parentNode.querySelector("[data-section-words]");
      if (out) out.textContent = n;
    });
    var el = document.getElementById("word-total");
    if (el && limit) {
      el.innerHTML = "";
      var strong = document.createElement("strong");
      strong.textContent = total.toLocaleString("en-GB");
      el.appendChild(strong);
      el.appendChild(document.createTextNode(" of " + limit.toLocaleString("en-GB") + " words"));
      if (total > limit) {
        var over = document.createElement("span");
        over.className = "over";
        over.textContent = " · over the limit by " + (total - limit).toLocaleString("en-GB") + ": you cannot submit until it is within the limit";
        el.appendChild(over);
      }
    }
  }
  function ratings() {
    form.querySelectorAll("[data-row]").forEach(function (row) {
      var l = row.querySelector("select[data-score=likelihood]"), i = row.querySelector("select[data-score=impact]");
      var out = row.querySelector("[data-rating]");
      if (!l || !i || !out) return;
      var r = (parseInt(l.value, 10) || 0) * (parseInt(i.value, 10) || 0);
      out.textContent = r ? "rating " + r + " of 25" : "";
    });
  }
  form.addEventListener("input", words);
  form.addEventListener("change", ratings);
})();

// The statement checklists: a search box that narrows each list to the statements whose
// reference, wording or area contain every word typed (the list works without it).
(function () {
  "use strict";
  document.querySelectorAll("[data-stmt-checklist]").forEach(function (list) {
    var box = list.querySelector("[data-stmt-search]"), input = box && box.querySelector("input");
    if (!input) return;
    box.hidden = false;
    var none = list.querySelector("[data-stmt-none]");
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean), shown = 0;
      list.querySelectorAll(".stmt-area").forEach(function (area) {
        var areaText = area.querySelector("legend").textContent.toLowerCase(), any = false;
        area.querySelectorAll(".tick").forEach(function (tick) {
          var text = areaText + " " + tick.textContent.toLowerCase();
          var match = words.every(function (w) { return text.indexOf(w) >= 0; });
          tick.hidden = !match;
          if (match) { any = true; shown += 1; }
        });
        area.hidden = !any;
      });
      if (none) none.hidden = shown > 0;
    });
    input.addEventListener("keydown", function (e) { if (e.key === "Enter") e.preventDefault(); });
  });
})();
