// The "try the tracker" page: wires its forms to the tracker loaded on the page (window.analytics).
(function () {
  "use strict";
  var log = document.getElementById("demo-log");
  function show(text) { log.textContent = text; }
  function refreshIds() {
    var user = window.analytics.user();
    document.getElementById("demo-anonymous-id").textContent = user.anonymousId() || "…";
    document.getElementById("demo-user-id").textContent = user.id() || "—";
  }
  window.analytics.ready(refreshIds);
  refreshIds();

  document.getElementById("demo-track").addEventListener("submit", function (event) {
    event.preventDefault();
    var properties = {};
    var raw = document.getElementById("demo-properties").value.trim();
    if (raw) {
      try { properties = JSON.parse(raw); } catch (e) { show("The properties are not valid JSON."); return; }
    }
    var name = document.getElementById("demo-event").value.trim() || "Demo Button Clicked";
    window.analytics.track(name, properties);
    show("Queued track “" + name + "”.");
  });
  document.getElementById("demo-identify").addEventListener("submit", function (event) {
    event.preventDefault();
    var userId = document.getElementById("demo-user").value.trim();
    var email = document.getElementById("demo-email").value.trim();
    window.analytics.identify(userId || null, email ? { email: email } : {});
    refreshIds();
    show("Queued identify " + (userId || "(anonymous)") + ".");
  });
  document.getElementById("demo-flush").addEventListener("click", function () {
    window.analytics.flush().then(function () { show("Sent."); });
  });
  document.getElementById("demo-reset").addEventListener("click", function () {
    window.analytics.reset();
    refreshIds();
    show("New anonymous id; user id cleared.");
  });
})();
