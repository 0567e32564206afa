/*
 * The CDP website tracker: a small, dependency-free script that sends Segment-spec events to /v1/batch.
 *
 * Load it either with the snippet shown on a website source's page (an analytics.js-style stub that queues
 * calls until this file arrives, then `analytics.load(writeKey, {apiHost})`), or with a plain tag:
 *   <script src="https://cdp.example.com/static/js/tracker.js" data-write-key="KEY" data-page="true" async></script>
 *
 * API (also on window.analytics, with analytics.js call signatures):
 *   identify([userId], [traits], [options], [callback])   track(event, [properties], [options], [callback])
 *   page([category], [name], [properties], [options], [callback])
 *   group(groupId, [traits], [options], [callback])        alias(userId, [previousId], [options], [callback])
 *   reset()  flush()  ready(fn)  user() -> {id(), anonymousId(), traits()}  load(writeKey, {apiHost, ...})
 *
 * The anonymous id lives in a first-party cookie and localStorage (ajs_anonymous_id); the user id and traits
 * persist after identify. Events are batched (flushAt events or flushInterval ms) and sent as text/plain (no CORS
 * preflight) with fetch keepalive, or sendBeacon when the page is being hidden. Unsent events survive a reload
 * in localStorage; messageIds make any resend a no-op on the server.
 */
(function (window, document) {
  "use strict";

  var VERSION = "1.0.0";
  var LIBRARY = { name: "cdp-tracker", version: VERSION };
  var KEYS = { anon: "ajs_anonymous_id", user: "ajs_user_id", traits: "ajs_user_traits", queue: "cdp_tracker_queue" };
  var YEAR_SECONDS = 365 * 24 * 3600;
  var MAX_EVENT_BYTES = 32 * 1024;
  var MAX_BATCH_BYTES = 450 * 1024; // below the API's 500 KB
  var KEEPALIVE_BYTES = 60 * 1024; // browsers cap keepalive bodies at 64 KB in flight
  var MAX_QUEUE = 1000;

  var existing = window.analytics;
  if (window.cdp && window.cdp.__cdpTracker) return; // loaded twice

  var currentScript = document.currentScript;

  // --- storage ------------------------------------------------------------------------------------------
  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) {
        try { return decodeURIComponent(parts[i].slice(eq + 1)); } catch (e) { return null; }
      }
    }
    return null;
  }
  function writeCookie(name, value, domain) {
    var cookie = name + "=" + encodeURIComponent(value) + "; path=/; SameSite=Lax";
    cookie += value === "" ? "; max-age=0" : "; max-age=" + YEAR_SECONDS;
    if (domain) cookie += "; domain=" + domain;
    if (window.location.protocol === "https:") cookie += "; Secure";
    document.cookie = cookie;
  }
  function lsGet(key) { try { return window.localStorage.getItem(key); } catch (e) { return null; } }
  function lsSet(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key); else window.localStorage.setItem(key, value);
    } catch (e) { /* storage full or disabled: the cookie still holds the ids */ }
  }
  // analytics.js stored JSON-encoded strings ("\"abc\""); accept both forms.
  function unquote(value) {
    if (value && value.charAt(0) === "\"") { try { return JSON.parse(value); } catch (e) { return value; } }
    return value;
  }
  function loadId(key) { return unquote(readCookie(key)) || unquote(lsGet(key)) || null; }
  function saveId(key, value, domain) {
    writeCookie(key, value === null ? "" : value, domain);
    lsSet(key, value);
  }

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40; bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" +
      hex.slice(20);
  }
  function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }
  function isFunction(v) { return typeof v === "function"; }
  function assign(target) {
    for (var i = 1; i < arguments.length; i++) {
      var src = arguments[i];
      if (isObject(src)) for (var k in src) if (Object.prototype.hasOwnProperty.call(src, k)) target[k] = src[k];
    }
    return target;
  }
  function byteLength(text) {
    try { return new Blob([text]).size; } catch (e) { return text.length * 3; }
  }

  // --- the tracker ----------------------------------------------------------------------------------------
  var config = { writeKey: null, apiHost: null, flushAt: 20, flushInterval: 1000, cookieDomain: null, retries: 10 };
  var state = {
    anonymousId: null, userId: null, traits: {}, queue: [], timer: null, sending: null, failures: 0,
    loaded: false, readyCallbacks: []
  };

  function endpoint() { return config.apiHost + "/v1/batch"; }

  function normalizeHost(host) {
    if (!host) {
      var src = currentScript && currentScript.src;
      host = src ? new URL(src, window.location.href).origin : window.location.origin;
    }
    host = String(host).replace(/\/+$/, "");
    if (!/^https?:\/\//.test(host)) host = (window.location.protocol === "http:" ? "http://" : "https://") + host;
    return host.replace(/\/v1$/, "");
  }

  function restoreIdentity() {
    state.anonymousId = loadId(KEYS.anon);
    if (!state.anonymousId) state.anonymousId = uuid();
    saveId(KEYS.anon, state.anonymousId, config.cookieDomain); // refresh both stores and the cookie's expiry
    state.userId = loadId(KEYS.user);
    try { state.traits = JSON.parse(lsGet(KEYS.traits) || "{}") || {}; } catch (e) { state.traits = {}; }
  }

  function persistQueue() { lsSet(KEYS.queue, state.queue.length ? JSON.stringify(state.queue) : null); }
  function restoreQueue() {
    try {
      var saved = JSON.parse(lsGet(KEYS.queue) || "[]");
      if (!Array.isArray(saved)) return;
      var seen = {};
      state.queue = saved.concat(state.queue).filter(function (m) {
        if (!isObject(m) || seen[m.messageId]) return false;
        seen[m.messageId] = true;
        return true;
      }).slice(-MAX_QUEUE);
    } catch (e) { /* a corrupt queue is dropped */ }
  }

  function pageContext() {
    var canonical = document.querySelector("link[rel='canonical']");
    var url = canonical ? canonical.href : window.location.href.split("#")[0];
    return {
      path: window.location.pathname, referrer: document.referrer, search: window.location.search,
      title: document.title, url: url
    };
  }
  function campaign() {
    var params = new URLSearchParams(window.location.search);
    var out = {};
    params.forEach(function (value, key) {
      if (key.indexOf("utm_") === 0) out[key.slice(4) === "campaign" ? "name" : key.slice(4)] = value;
    });
    return Object.keys(out).length ? out : undefined;
  }
  function baseContext() {
    var ctx = {
      library: LIBRARY, page: pageContext(), userAgent: window.navigator.userAgent,
      locale: window.navigator.language, screen: { width: window.screen.width, height: window.screen.height }
    };
    try { ctx.timezone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { /* old browser */ }
    var utm = campaign();
    if (utm) ctx.campaign = utm;
    return ctx;
  }

  function enqueue(type, fields, options, callback) {
    options = isObject(options) ? options : {};
    var now = new Date().toISOString();
    var context = assign(baseContext(), options.context);
    var message = assign({
      type: type,
      messageId: uuid(),
      anonymousId: options.anonymousId || state.anonymousId,
      timestamp: options.timestamp ? new Date(options.timestamp).toISOString() : now,
      originalTimestamp: now,
      context: context,
      integrations: isObject(options.integrations) ? options.integrations : {}
    }, fields);
    if (state.userId && message.userId === undefined) message.userId = state.userId;
    if (byteLength(JSON.stringify(message)) > MAX_EVENT_BYTES) {
      if (window.console) window.console.warn("cdp-tracker: event over 32 KB dropped", type);
    } else {
      state.queue.push(message);
      if (state.queue.length > MAX_QUEUE) state.queue.shift();
      persistQueue();
      if (state.queue.length >= config.flushAt) flush();
      else schedule(config.flushInterval);
    }
    if (isFunction(callback)) window.setTimeout(callback, 0);
    return api;
  }

  function schedule(delay) {
    if (state.timer || !config.writeKey) return;
    state.timer = window.setTimeout(function () { state.timer = null; flush(); }, delay);
  }

  // Take the next batch that fits the size limit; the queue keeps the rest.
  function takeBatch() {
    var batch = [], size = 200;
    for (var i = 0; i < state.queue.length; i++) {
      var itemSize = byteLength(JSON.stringify(state.queue[i])) + 1;
      if (batch.length && size + itemSize > MAX_BATCH_BYTES) break;
      batch.push(state.queue[i]); size += itemSize;
    }
    return batch;
  }
  function body(batch) {
    var sentAt = new Date().toISOString();
    batch.forEach(function (m) { m.sentAt = sentAt; });
    return JSON.stringify({ batch: batch, sentAt: sentAt, writeKey: config.writeKey });
  }
  function dropSent(batch) {
    var sent = {};
    batch.forEach(function (m) { sent[m.messageId] = true; });
    state.queue = state.queue.filter(function (m) { return !sent[m.messageId]; });
    persistQueue();
  }

  /** Send queued events now. Returns a promise resolved when the request finished (or nothing was queued). */
  function flush() {
    if (state.timer) { window.clearTimeout(state.timer); state.timer = null; }
    if (state.sending) return state.sending.then(flush); // one request at a time, keeps the order
    if (!config.writeKey || !state.queue.length) return Promise.resolve();
    var batch = takeBatch();
    var payload = body(batch);
    state.sending = window.fetch(endpoint(), {
      method: "POST", body: payload, keepalive: byteLength(payload) < KEEPALIVE_BYTES,
      headers: { "Content-Type": "text/plain" }, credentials: "omit", mode: "cors"
    }).then(function (response) {
      state.sending = null;
      // The API drops nothing for 2xx and can never accept a 4xx body (except 429): retry only 5xx/429.
      if (response.ok || (response.status >= 400 && response.status < 500 && response.status !== 429)) {
        state.failures = 0;
        dropSent(batch);
        if (state.queue.length) schedule(0);
      } else {
        retryLater();
      }
    }, function () {
      state.sending = null;
      retryLater();
    });
    return state.sending;
  }
  function retryLater() {
    state.failures += 1;
    if (state.failures > config.retries) { state.failures = 0; return; } // keep them stored for the next page
    schedule(Math.min(60000, 500 * Math.pow(2, state.failures)));
  }

  // The page is going away: hand everything to the browser, which sends it after unload.
  function flushOnHide() {
    if (!config.writeKey || !state.queue.length) return;
    while (state.queue.length) {
      var batch = takeBatch();
      var payload = body(batch);
      var queued = false;
      if (window.navigator.sendBeacon) {
        queued = window.navigator.sendBeacon(endpoint(), new Blob([payload], { type: "text/plain" }));
      }
      if (!queued && byteLength(payload) < KEEPALIVE_BYTES) {
        try {
          window.fetch(endpoint(), { method: "POST", body: payload, keepalive: true,
            headers: { "Content-Type": "text/plain" }, credentials: "omit", mode: "cors" });
          queued = true;
        } catch (e) { queued = false; }
      }
      if (!queued) return; // leave the rest in localStorage for the next page view
      dropSent(batch);
    }
  }

  // --- public methods (analytics.js signatures) -----------------------------------------------------------
  function identify(userId, traits, options, callback) {
    if (isFunction(options)) { callback = options; options = null; }
    if (isFunction(traits)) { callback = traits; traits = null; }
    if (isObject(userId)) { options = traits; traits = userId; userId = state.userId; }
    if (userId !== undefined && userId !== null && userId !== "") {
      userId = String(userId);
      if (state.userId && state.userId !== userId) state.traits = {}; // a different person
      state.userId = userId;
      saveId(KEYS.user, userId, config.cookieDomain);
    }
    state.traits = assign({}, state.traits, traits);
    lsSet(KEYS.traits, JSON.stringify(state.traits));
    var fields = { traits: assign({}, state.traits) };
    if (state.userId) fields.userId = state.userId;
    return enqueue("identify", fields, options, callback);
  }

  function track(event, properties, options, callback) {
    if (isFunction(options)) { callback = options; options = null; }
    if (isFunction(properties)) { callback = properties; properties = null; }
    return enqueue("track", { event: String(event), properties: assign({}, properties) }, options, callback);
  }

  function page(category, name, properties, options, callback) {
    var args = Array.prototype.slice.call(arguments);
    callback = isFunction(args[args.length - 1]) ? args.pop() : undefined;
    var strings = [];
    while (args.length && (typeof args[0] === "string" || args[0] === null || args[0] === undefined) &&
           strings.length < 2) {
      strings.push(args.shift());
    }
    if (strings.length === 1) { name = strings[0]; category = null; }
    else { category = strings[0]; name = strings[1]; }
    properties = args[0]; options = args[1];
    var props = assign(pageContext(), properties);
    if (name) props.name = name;
    if (category) props.category = category;
    var fields = { properties: props };
    if (name) fields.name = name;
    if (category) fields.category = category;
    return enqueue("page", fields, options, callback);
  }

  function group(groupId, traits, options, callback) {
    if (isFunction(options)) { callback = options; options = null; }
    if (isFunction(traits)) { callback = traits; traits = null; }
    return enqueue("group", { groupId: String(groupId), traits: assign({}, traits) }, options, callback);
  }

  function alias(userId, previousId, options, callback) {
    if (isFunction(options)) { callback = options; options = null; }
    if (isFunction(previousId)) { callback = previousId; previousId = null; }
    if (isObject(previousId)) { options = previousId; previousId = null; }
    var fields = { userId: String(userId), previousId: previousId ? String(previousId) :
      (state.userId || state.anonymousId) };
    return enqueue("alias", fields, options, callback);
  }

  function reset() {
    state.userId = null; state.traits = {};
    saveId(KEYS.user, null, config.cookieDomain);
    lsSet(KEYS.traits, null);
    state.anonymousId = uuid();
    saveId(KEYS.anon, state.anonymousId, config.cookieDomain);
    return api;
  }

  function ready(fn) {
    if (!isFunction(fn)) return api;
    if (state.loaded) window.setTimeout(fn, 0); else state.readyCallbacks.push(fn);
    return api;
  }

  function user() {
    return {
      id: function () { return state.userId; },
      anonymousId: function () { return state.anonymousId; },
      traits: function () { return assign({}, state.traits); }
    };
  }

  function load(writeKey, options) {
    options = isObject(options) ? options : {};
    config.writeKey = writeKey;
    config.apiHost = normalizeHost(options.apiHost);
    if (options.flushAt > 0) config.flushAt = Math.min(Number(options.flushAt), 500);
    if (options.flushInterval >= 0) config.flushInterval = Number(options.flushInterval);
    if (options.cookieDomain) config.cookieDomain = options.cookieDomain;
    restoreIdentity();
    restoreQueue();
    state.loaded = true;
    state.readyCallbacks.splice(0).forEach(function (fn) { window.setTimeout(fn, 0); });
    if (state.queue.length) schedule(0);
    return api;
  }

  var api = {
    __cdpTracker: true, VERSION: VERSION,
    identify: identify, track: track, page: page, group: group, alias: alias,
    reset: reset, ready: ready, user: user, flush: flush, load: load,
    debug: function () { return api; }, on: function () { return api; },
    trackLink: function () { return api; }, trackForm: function () { return api; }
  };

  window.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flushOnHide();
  });
  window.addEventListener("pagehide", flushOnHide);

  // --- boot: take over the snippet's stub, or read the script tag's data attributes -----------------------
  var stubCalls = Array.isArray(existing) ? existing.slice() : [];
  var stubKey = Array.isArray(existing) ? existing._writeKey : null;
  var stubOptions = Array.isArray(existing) ? existing._loadOptions : null;
  var data = currentScript ? currentScript.dataset : {};

  window.cdp = api;
  if (!existing || Array.isArray(existing)) window.analytics = api;

  if (stubKey) {
    load(stubKey, stubOptions);
  } else if (data.writeKey) {
    load(data.writeKey, {
      apiHost: data.apiHost, flushAt: data.flushAt && Number(data.flushAt),
      flushInterval: data.flushInterval && Number(data.flushInterval), cookieDomain: data.cookieDomain
    });
  } else {
    restoreIdentity(); // calls before load() are queued and sent once a write key is known
  }
  stubCalls.forEach(function (call) {
    var method = call && call[0];
    if (method && isFunction(api[method]) && method !== "load") api[method].apply(api, call.slice(1));
  });
  if (data.page === "true") page();
})(window, document);
