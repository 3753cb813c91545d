// LTI Client Side postMessages / Platform Storage: keep the launch's state binding in the
// platform's window when the browser will not keep the tool's cookie inside the iframe.
// Probes lti.capabilities first (some platforms, such as Canvas's mobile apps, send
// lti_storage_target but never answer) and gives up after a short wait.
(function () {
  "use strict";
  var box = document.getElementById("lti-storage");
  if (!box) return;
  var d = box.dataset, origin = d.origin || "*", status = document.getElementById("storage-status");
  var WAIT = 1500;

  function frame() {
    try {
      if (d.target && d.target !== "_parent" && window.parent.frames[d.target]) return window.parent.frames[d.target];
    } catch (e) {}
    return window.parent !== window ? window.parent : null;
  }
  function ask(message, expected) {
    return new Promise(function (resolve) {
      var target = frame(), id = "npq-" + Math.random().toString(36).slice(2);
      if (!target) return resolve(null);
      var timer = setTimeout(function () { window.removeEventListener("message", on); resolve(null); }, WAIT);
      function on(event) {
        if (origin !== "*" && event.origin !== origin) return;
        var data = event.data || {};
        if (data.message_id !== id || data.subject !== expected) return;
        clearTimeout(timer);
        window.removeEventListener("message", on);
        resolve(data);
      }
      window.addEventListener("message", on);
      message.message_id = id;
      target.postMessage(message, origin);
    });
  }
  function supports(caps, subject) {
    return !!(caps && (caps.supported_messages || []).some(function (m) { return m.subject === subject; }));
  }
  function cookiesWork() {
    try {
      document.cookie = "npq_probe=1; SameSite=None; Secure";
      document.cookie = "npq_probe_lax=1";
      return document.cookie.indexOf("npq_probe") >= 0;
    } catch (e) { return false; }
  }
  function blocked() {
    status.textContent = "";
    document.getElementById("storage-blocked").hidden = false;
  }

  ask({ subject: "lti.capabilities" }, "lti.capabilities.response").then(function (caps) {
    if (d.mode === "put") {
      if (supports(caps, "lti.put_data")) {
        return ask({ subject: "lti.put_data", key: d.key, value: d.value }, "lti.put_data.response")
          .then(function (ok) {
            if (ok && !ok.error) location.replace(d.next);
            else if (cookiesWork()) location.replace(d.next);
            else blocked();
          });
      }
      if (cookiesWork()) location.replace(d.next); else blocked();
      return;
    }
    if (!supports(caps, "lti.get_data")) return blocked();
    return ask({ subject: "lti.get_data", key: d.key }, "lti.get_data.response").then(function (res) {
      if (!res || res.error || !res.value) return blocked();
      var form = document.getElementById("storage-form");
      form.querySelector("[name=lti_storage_binding]").value = res.value;
      form.submit();
    });
  });
})();
