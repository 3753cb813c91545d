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
      if (out) out.textContent = n.toLocaleString("en-GB");
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
