// LTI Client Side postMessages / Platform Storage: keep data in the platform's window when the
// browser will not keep the tool's cookie (or its storage) inside the iframe.
// NPQPlatformStorage(target, origin) talks to the platform's storage frame (session.js uses it
// too); below it, the login and launch pages keep the launch's state binding there.
// Every question gives up after a short wait (some platforms, such as Canvas's mobile apps, send
// lti_storage_target but never answer).
window.NPQPlatformStorage = function (target, origin) {
  "use strict";
  var WAIT = 1500;
  origin = origin || "*";
  function frame() {
    try {
      if (target && target !== "_parent" && window.parent.frames[target]) return window.parent.frames[target];
    } catch (e) {}
    return window.parent !== window ? window.parent : null;
  }
  function ask(message, expected) {
    return new Promise(function (resolve) {
      var to = frame(), id = "npq-" + Math.random().toString(36).slice(2);
      if (!to) return resolve(null);
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
      to.postMessage(message, origin);
    });
  }
  return {
    ask: ask,
    supports: function (caps, subject) {
      return !!(caps && (caps.supported_messages || []).some(function (m) { return m.subject === subject; }));
    },
    // Secrets go only to the platform's own origin, never to "whoever frames this page".
    put: function (key, value) {
      if (origin === "*") return Promise.resolve(false);
      return ask({ subject: "lti.put_data", key: key, value: value }, "lti.put_data.response")
        .then(function (r) { return !!(r && !r.error); });
    },
    get: function (key) {
      return ask({ subject: "lti.get_data", key: key }, "lti.get_data.response")
        .then(function (r) { return (r && !r.error && r.value) || null; });
    }
  };
};

(function () {
  "use strict";
  var box = document.getElementById("lti-storage");
  if (!box) return;
  var d = box.dataset, status = document.getElementById("storage-status");
  var platform = window.NPQPlatformStorage(d.target, d.origin);

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
  function next() { location.replace(d.next); }

  platform.ask({ subject: "lti.capabilities" }, "lti.capabilities.response").then(function (caps) {
    if (d.mode === "put") {
      if (platform.supports(caps, "lti.put_data")) {
        return platform.ask({ subject: "lti.put_data", key: d.key, value: d.value }, "lti.put_data.response")
          .then(function (ok) {
            if ((ok && !ok.error) || cookiesWork()) next();
            else blocked();
          });
      }
      if (cookiesWork()) next(); else blocked();
      return;
    }
    if (!platform.supports(caps, "lti.get_data")) return blocked();
    return platform.get(d.key).then(function (value) {
      if (!value) return blocked();
      var form = document.getElementById("storage-form");
      form.querySelector("[name=lti_storage_binding]").value = value;
      form.submit();
    });
  });
})();
