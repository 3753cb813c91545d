// A table wider than its box scrolls inside the box; that box must then be reachable and named
// for keyboard and screen-reader users (WCAG 2.1.1): focusable, a labelled region. Boxes that
// fit are left alone (no needless tab stops). Re-checked when the width changes.
(function () {
  function name(box) {
    var table = box.querySelector('table');
    var caption = table && table.querySelector('caption');
    var labelled = table && table.getAttribute('aria-labelledby');
    var heading = labelled && document.getElementById(labelled.split(' ')[0]);
    var text = (caption && caption.textContent) || (table && table.getAttribute('aria-label')) ||
      (heading && heading.textContent) || 'Table';
    return text.trim() + ' (scrolls sideways)';
  }
  function check(box) {
    if (box.hasAttribute('data-region-fixed')) return;
    if (box.scrollWidth > box.clientWidth + 1) {
      box.setAttribute('tabindex', '0');
      box.setAttribute('role', 'region');
      box.setAttribute('aria-label', name(box));
    } else {
      box.removeAttribute('tabindex');
      box.removeAttribute('role');
      box.removeAttribute('aria-label');
    }
  }
  var boxes = Array.prototype.slice.call(document.querySelectorAll('.table-wrap'));
  boxes.forEach(function (box) {
    if (box.hasAttribute('tabindex')) box.setAttribute('data-region-fixed', '');  // set by the page
    check(box);
  });
  if (window.ResizeObserver) {
    var observer = new ResizeObserver(function (entries) { entries.forEach(function (e) { check(e.target); }); });
    boxes.forEach(function (box) { observer.observe(box); });
  } else {
    window.addEventListener('resize', function () { boxes.forEach(check); });
  }
})();
