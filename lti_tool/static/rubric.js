// Live total as a tutor picks rubric levels (the server computes the same on save).
(function () {
  "use strict";
  var form = document.getElementById("rubric-form"), out = document.getElementById("score-total");
  if (!form || !out) return;
  form.addEventListener("change", function () {
    var sets = form.querySelectorAll("fieldset.criterion"), total = 0, all = true;
    sets.forEach(function (fs) {
      var c = fs.querySelector("input[type=radio]:checked");
      if (c) total += parseFloat(c.dataset.points); else all = false;
    });
    out.textContent = all ? total : total + " so far";
  });
})();
