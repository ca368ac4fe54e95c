// article-relay.js -- an EventSource stand-in for the sandboxed article frame.
//
// The frame has an opaque origin (sandbox without allow-same-origin), so a real
// EventSource from it would be a cross-origin request without cookies: the lab
// server (no CORS) and jupyter-server-proxy (needs the login cookie) refuse it.
// The parent page opens the real EventSource, with the article's behaviour
// (no close() on [DONE]), and posts every open/message/error here.
(function () {
  "use strict";
  function RelayedEventSource(url) {
    this.url = url;
    this.readyState = 0;
    this.onopen = this.onmessage = this.onerror = null;
    var self = this;
    window.addEventListener("message", function (e) {
      if (e.source !== window.parent || !e.data || e.data.relay !== "sse") return;
      var m = e.data;
      self.readyState = m.readyState;
      if (m.kind === "open" && self.onopen) self.onopen({ type: "open" });
      if (m.kind === "error" && self.onerror) self.onerror({ type: "error" });
      if (m.kind === "message" && self.onmessage) {
        self.onmessage({ type: "message", data: m.data, lastEventId: m.lastEventId });
      }
    });
    window.parent.postMessage({ relay: "ready" }, "*");
  }
  RelayedEventSource.prototype.close = function () { this.readyState = 2; };
  RelayedEventSource.CONNECTING = 0;
  RelayedEventSource.OPEN = 1;
  RelayedEventSource.CLOSED = 2;
  window.EventSource = RelayedEventSource;
})();
