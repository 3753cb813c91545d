// The statement checklists: a search box that narrows each list to the statements whose
// reference, wording or area contain every word typed, and the "Chosen:" line kept up to date
// as boxes are ticked (the list works without it).
(function () {
  "use strict";
  function chip(text) {
    var span = document.createElement("span");
    span.className = "stmt-id";
    span.textContent = text;
    return span;
  }
  function showChosen(list) {
    var out = list.querySelector("[data-stmt-chosen]");
    if (!out) return;
    var ticked = list.querySelectorAll(".tick input:checked");
    out.textContent = ticked.length ? "Chosen: " : "None chosen yet.";
    ticked.forEach(function (box) {
      var label = list.querySelector('label[for="' + box.id + '"]');
      var area = label.querySelector("[data-stmt-area]").dataset.stmtArea;
      out.appendChild(chip(area + " " + label.querySelector(".stmt-id").textContent));
    });
  }
  function filter(list, input) {
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
    var none = list.querySelector("[data-stmt-none]");
    if (none) none.hidden = shown > 0;
  }
  document.querySelectorAll("[data-stmt-checklist]").forEach(function (list) {
    list.addEventListener("change", function (e) { if (e.target.type === "checkbox") showChosen(list); });
    var box = list.querySelector("[data-stmt-search]"), input = box && box.querySelector("input");
    if (!input) return;
    box.hidden = false;
    input.addEventListener("input", function () { filter(list, input); });
    input.addEventListener("keydown", function (e) { if (e.key === "Enter") e.preventDefault(); });
  });
})();
