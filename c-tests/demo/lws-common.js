/*
 * lws-common.js: the page's WebSocket connections, kept alive.
 *
 *   var s = lws.connect("protocol-name", {
 *     open: function (s) {},        // connected (again)
 *     message: function (data, s) {},
 *     close: function (s) {}        // lost; a retry is scheduled
 *   });
 *   s.send(text)                    // false while disconnected
 *
 * Each socket connects to ws(s)://<this host>/ with its subprotocol and,
 * when it closes or cannot connect, tries again after a delay that doubles
 * from 250 ms up to 4 s (back to 250 ms once connected). While any of the
 * page's sockets is not open, <body> has the class "disconnected", which
 * demo.css draws dimmed and grey (the "dimming" of README.coding).
 */
(function () {
  "use strict";

  var FIRST_DELAY = 250, MAX_DELAY = 4000;
  var sockets = [];

  function update() {
    var down = sockets.some(function (s) { return !s.open; });
    document.body.classList.toggle("disconnected", down);
    var status = document.getElementById("status");
    if (status)
      status.textContent = down ? "disconnected: reconnecting\u2026" : "connected";
  }

  function url() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/";
  }

  function connect(protocol, handlers) {
    handlers = handlers || {};
    var s = {
      protocol: protocol,
      open: false,
      ws: null,
      delay: FIRST_DELAY,
      timer: null,
      send: function (data) {
        if (!s.open)
          return false;
        s.ws.send(data);
        return true;
      }
    };

    function retry() {
      if (s.timer)
        return;
      s.timer = setTimeout(start, s.delay);
      s.delay = Math.min(s.delay * 2, MAX_DELAY);
    }

    function start() {
      var ws;
      s.timer = null;
      try {
        ws = new WebSocket(url(), protocol);
      } catch (e) {
        retry();
        return;
      }
      s.ws = ws;
      ws.onopen = function () {
        s.open = true;
        s.delay = FIRST_DELAY;
        update();
        if (handlers.open)
          handlers.open(s);
      };
      ws.onmessage = function (ev) {
        if (handlers.message)
          handlers.message(ev.data, s);
      };
      /* an error is always followed by close */
      ws.onclose = function () {
        if (s.ws !== ws)
          return;
        s.open = false;
        s.ws = null;
        update();
        if (handlers.close)
          handlers.close(s);
        retry();
      };
    }

    sockets.push(s);
    update();
    start();
    return s;
  }

  window.lws = { connect: connect, sockets: sockets };
})();
