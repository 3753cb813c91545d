// Copy buttons beside read-only boxes (the boxes work without this: select and copy).
(function () {
  var status = document.querySelector('.copy-status');
  function copied(button, input) {
    button.firstChild.nodeValue = 'Copied';
    if (status) status.textContent = input.labels[0].textContent + ' copied.';
    setTimeout(function () { button.firstChild.nodeValue = 'Copy'; }, 2000);
  }
  document.querySelectorAll('.copy-button').forEach(function (button) {
    var input = document.getElementById(button.getAttribute('data-copy'));
    if (!input) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(function () { copied(button, input); },
          function () { if (document.execCommand('copy')) copied(button, input); });
      } else if (document.execCommand('copy')) {
        copied(button, input);
      }
    });
  });
})();
