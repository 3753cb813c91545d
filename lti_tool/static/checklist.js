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
