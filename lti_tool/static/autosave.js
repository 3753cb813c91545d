// Autosave for activity answers and write-up documents. Nothing typed is lost: every change is kept on this
// device at once, and sent to the server a few seconds later, on leaving the page, and again
// when the connection comes back. The form still works without this script.
(function () {
  "use strict";
  var form = document.getElementById("activity-form");
  if (!form || !window.fetch) return;

  var url = form.dataset.autosaveUrl;
  var key = form.dataset.draftKey;
  var version = parseInt(form.dataset.version || "0", 10);
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var status = document.getElementById("save-status");
  var dirty = false, saving = false, timer = null, stopped = false;
  var DELAY = 3000, RETRY = 10000;

  // Activities send {answers: {question: value}}; write-ups send their inputs as [name, value]
  // pairs, exactly as the form would post them.
  var pairsMode = form.dataset.mode === "pairs";
  function answers() {
    if (pairsMode) {
      var pairs = [];
      new FormData(form).forEach(function (v, k) { if (/^[ftxrm]\./.test(k)) pairs.push([k, v]); });
      return pairs;
    }
    var out = {};
    form.querySelectorAll("[data-qid]").forEach(function (el) {
      if (el.type === "radio") { if (el.checked) out[el.dataset.qid] = el.value; }
      else out[el.dataset.qid] = el.value;
    });
    return out;
  }
  function fill(values) {
    if (pairsMode) {
      var byName = {};
      (values || []).forEach(function (p) { (byName[p[0]] = byName[p[0]] || []).push(p[1]); });
      Array.prototype.forEach.call(form.elements, function (el) {
        var vs = byName[el.name];
        if (!vs || !/^[ftxrm]\./.test(el.name)) return;
        if (el.type === "checkbox" || el.type === "radio") el.checked = vs.indexOf(el.value) >= 0;
        else if (el.multiple) Array.prototype.forEach.call(el.options, function (o) { o.selected = vs.indexOf(o.value) >= 0; });
        else el.value = vs[0];
      });
      return;
    }
    form.querySelectorAll("[data-qid]").forEach(function (el) {
      var v = values[el.dataset.qid];
      if (el.type === "radio") el.checked = (v === el.value);
      else if (v !== undefined) el.value = v;
    });
  }
  function body() {
    var data = { version: version, csrf_token: csrf };
    data[pairsMode ? "pairs" : "answers"] = answers();
    return JSON.stringify(data);
  }
  function say(text, cls) { status.textContent = text; status.className = "save-status " + (cls || ""); }
  function hhmm(d) { return window.npqWriteTime ? window.npqWriteTime(d, "time") : d.toLocaleTimeString("en-GB", { hour: "numeric", minute: "2-digit" }); }
  function keepLocal() {
    try { localStorage.setItem(key, JSON.stringify({ answers: answers(), base: version, at: Date.now() })); } catch (e) {}
  }
  function dropLocal() { try { localStorage.removeItem(key); } catch (e) {} }

  // A draft kept on this device from a visit whose save never reached the server (offline,
  // session ended, page closed): put it back and send it.
  try {
    var kept = JSON.parse(localStorage.getItem(key) || "null");
    if (kept && kept.base >= version && JSON.stringify(kept.answers) !== JSON.stringify(answers())) {
      fill(kept.answers);
      dirty = true;
      say("Restored text you typed earlier on this device; saving it now…", "warn");
      schedule(500);
    } else if (kept) { dropLocal(); }
  } catch (e) {}

  function schedule(ms) { clearTimeout(timer); timer = setTimeout(save, ms); }

  function save() {
    if (!dirty || saving || stopped) return;
    if (navigator.onLine === false) { say("You are offline. Your text is kept on this device and will be saved when the connection returns.", "warn"); return; }
    saving = true; dirty = false;
    fetch(url, { method: "POST", headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
                 body: body(), credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (data) { return { status: r.status, data: data }; }, function () { return { status: r.status, data: {} }; }); })
      .then(function (res) {
        saving = false;
        if (res.status === 200) {
          version = res.data.version;
          form.querySelector("input[name=version]").value = version;
          if (!dirty) dropLocal();
          say("Draft saved at " + hhmm(new Date(res.data.saved_at)));
          form.dispatchEvent(new CustomEvent("autosaved", { detail: res.data }));
          if (dirty) schedule(DELAY);
        } else if (res.status === 409 && res.data.error !== "conflict") {
          // Not another version but a closed one (submitted in another tab): nothing to merge.
          stopped = true; keepLocal();
          say((res.data.error || "This page can no longer be changed.") + " Your text is kept on this device; reload the page to see what was submitted.", "bad");
        } else if (res.status === 409) {
          conflict(res.data);
        } else if (res.status === 401) {
          stopped = true;
          say("Your session has ended. Your text is kept on this device: open this activity again from your course and it will be restored.", "bad");
        } else {
          dirty = true;
          say((res.data && res.data.error) || "Not saved yet; trying again shortly.", "bad");
          if (res.status >= 500 || res.status === 429) schedule(RETRY);
        }
      }, function () {
        saving = false; dirty = true;
        say("Not saved: the connection dropped. Your text is kept on this device; retrying…", "warn");
        schedule(RETRY);
      });
  }

  function conflict(data) {
    stopped = true;
    say("This page was changed in another tab or on another device.", "bad");
    var box = document.createElement("div");
    box.className = "conflict"; box.setAttribute("role", "alert");
    box.innerHTML = "<p><strong>Two versions exist.</strong> The other one was saved at " +
      hhmm(new Date(data.saved_at)) + ". Neither has been overwritten.</p>" +
      "<button type='button' class='button' data-keep='mine'>Keep the text on this page</button> " +
      "<button type='button' class='button secondary' data-keep='theirs'>" +
      (data.answers ? "Load the other version" : "Reload to see the other version") + "</button>";
    status.after(box);
    box.querySelector("[data-keep=mine]").addEventListener("click", function () {
      version = data.version; stopped = false; dirty = true; box.remove(); save();
    });
    box.querySelector("[data-keep=theirs]").addEventListener("click", function () {
      if (!data.answers) { dropLocal(); location.reload(); return; }
      fill(data.answers); version = data.version; stopped = false; dirty = false;
      form.querySelector("input[name=version]").value = version; keepLocal(); dropLocal(); box.remove();
      say("Loaded the version saved at " + hhmm(new Date(data.saved_at)));
    });
  }

  form.addEventListener("input", function () { dirty = true; keepLocal(); say("Unsaved changes…"); schedule(DELAY); });
  form.addEventListener("change", function () { dirty = true; keepLocal(); schedule(DELAY); });
  window.addEventListener("online", function () { if (dirty) save(); });
  form.addEventListener("submit", function () { stopped = true; keepLocal(); });
  function flush() {
    if (!dirty || stopped) return;
    keepLocal();
    try {
      fetch(url, { method: "POST", keepalive: true, credentials: "same-origin",
                   headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
                   body: body() });
    } catch (e) {}
  }
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") flush(); });
  window.addEventListener("pagehide", flush);
  setInterval(function () { if (dirty) save(); }, 15000);
})();
