// Cookieless sessions (the browser blocked the tool's cookies inside the course page): every
// request into /s/<sid>/ proves the session's secret, which this browser keeps in sessionStorage
// and in the platform's storage (for browsers that block the tool's storage with its cookies).
// The page URL alone opens nothing (lti_tool/cookieless.py).
// - fetch() into the session: the X-Session-Secret header;
// - a POST form into the session: a _session_secret field, added on submit;
// - a link or GET form into the session: a single-use page ticket (?_pt=), bought just before;
// - data-mode="handoff" (the launch): keep the secret, open the first page;
// - data-mode="resume" (a reload, the back button, a copied URL): find the secret, reopen the page.
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !window.fetch || !window.URL) return;
  var d = me.dataset, prefix = "/s/" + d.sid + "/", KEY = "npq_s_" + d.sid, TICKET = "_pt";
  var platform = window.NPQPlatformStorage ? window.NPQPlatformStorage(d.target, d.origin) : null;
  var send = window.fetch.bind(window), known = null, lookup = null;

  function remember(secret) {
    known = secret;
    try { sessionStorage.setItem(KEY, secret); } catch (e) {}
  }
  function secret() {
    if (!lookup) {
      try { known = known || sessionStorage.getItem(KEY); } catch (e) {}
      lookup = known ? Promise.resolve(known)
        : platform ? platform.get(KEY).then(function (v) { if (v) remember(v); return v; })
        : Promise.resolve(null);
    }
    return lookup;
  }
  function inSession(href) {
    var u;
    try { u = new URL(href, location.href); } catch (e) { return null; }
    return u.origin === location.origin && u.pathname.indexOf(prefix) === 0 ? u : null;
  }
  function ticket() {
    return secret().then(function (s) {
      if (!s) return null;
      return send(d.ticketUrl, { method: "POST", credentials: "same-origin",
                                 headers: { "X-Session-Secret": s, "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (j) { return j && j.ticket; }, function () { return null; });
    });
  }
  // Without a ticket the page answers with the resume page, which says the session has ended.
  function go(u) {
    ticket().then(function (t) {
      if (t) u.searchParams.set(TICKET, t);
      location.assign(u.href);
    });
  }

  if (d.mode === "handoff") {
    remember(d.secret);
    var next = function () { location.replace(d.next); };
    if (platform) platform.put(KEY, d.secret).then(next, next); else next();
    return;
  }
  if (d.mode === "resume") {
    var here = new URL(location.href), spent = here.searchParams.has(TICKET);
    here.searchParams.delete(TICKET);
    // A ticket that was just refused is not retried (no loop): the session has ended.
    (spent ? Promise.resolve(null) : ticket()).then(function (t) {
      if (t) {
        here.searchParams.set(TICKET, t);
        return location.replace(here.href);
      }
      document.getElementById("resume-pending").hidden = true;
      document.getElementById("resume-ended").hidden = false;
    });
    return;
  }

  // A page of the session. Its ticket is spent: keep it out of history, reloads and copies.
  if (new URL(location.href).searchParams.has(TICKET)) {
    var clean = new URL(location.href);
    clean.searchParams.delete(TICKET);
    history.replaceState(history.state, "", clean.href);
  }
  secret();

  window.fetch = function (input, init) {
    var u = inSession(typeof input === "string" ? input : (input && input.url) || String(input));
    if (!u) return send(input, init);
    function withSecret(s) {
      var opts = Object.assign({}, init || {});
      var headers = new Headers(opts.headers || (input instanceof Request ? input.headers : {}));
      if (s) headers.set("X-Session-Secret", s);
      opts.headers = headers;
      return send(input, opts);
    }
    // Synchronously where possible: a keepalive save sent as the page is left must go now.
    return known ? withSecret(known) : secret().then(withSecret);
  };

  document.addEventListener("click", function (e) {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    var a = e.target.closest ? e.target.closest("a[href]") : null;
    if (!a || a.hasAttribute("download") || (a.target && a.target !== "_self")) return;
    var u = inSession(a.href);
    if (!u || (u.hash && u.pathname === location.pathname && u.search === location.search)) return;
    e.preventDefault();
    go(u);
  });

  var passing = null;  // a form being submitted again once the secret is known
  function formData(form, submitter) {
    try { return new FormData(form, submitter); } catch (e) { return new FormData(form); }
  }
  function addSecret(form, s) {
    var field = form.querySelector("input[name=_session_secret]");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "_session_secret";
      form.appendChild(field);
    }
    field.value = s;
  }
  document.addEventListener("submit", function (e) {
    var form = e.target, submitter = e.submitter || null;
    if (e.defaultPrevented || form === passing) return;
    var overrides = submitter && submitter.hasAttribute("formaction");
    var u = inSession(overrides ? submitter.formAction : form.action);
    var method = ((submitter && submitter.getAttribute("formmethod")) || form.getAttribute("method") || "get").toLowerCase();
    if (!u || method === "dialog") return;
    if (method === "get") {
      e.preventDefault();
      u.search = new URLSearchParams(formData(form, submitter)).toString();
      go(u);
      return;
    }
    if (known) { addSecret(form, known); return; }
    e.preventDefault();
    secret().then(function (s) {
      if (s) addSecret(form, s);
      passing = form;
      try { if (form.requestSubmit) form.requestSubmit(submitter); else form.submit(); } finally { passing = null; }
    });
  });
})();
