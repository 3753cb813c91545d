// Tell the platform the registration is over (its dialog closes). Where the page has steps for
// the platform's admin to read first (Moodle), only when they press the button.
(function () {
  "use strict";
  function close() { (window.opener || window.parent).postMessage({subject: 'org.imsglobal.lti.close'}, '*'); }
  var button = document.getElementById("registration-done");
  if (button) button.addEventListener("click", close);
  else close();
})();
