/*
 * The demo page: a counter (dumb-increment-protocol), a shared mirror of
 * typed lines and drawing (lws-mirror-protocol) and an echo (lws-echo), each
 * on a connection made by lws-common.js.
 *
 * Mirror messages, as text:
 *   "t <text>"                   a typed line
 *   "d <#rrggbb> x0 y0 x1 y1"    a stroke on the 600x200 canvas
 *   "clear"                      clears the canvas
 * anything else is shown as a line.
 */
(function () {
  "use strict";

  var MAX_LINES = 50;

  function $(id) { return document.getElementById(id); }

  function addLine(log, text, cls) {
    var line = document.createElement("div");
    line.textContent = text;
    if (cls)
      line.className = cls;
    log.appendChild(line);
    while (log.childNodes.length > MAX_LINES)
      log.removeChild(log.firstChild);
    log.scrollTop = log.scrollHeight;
  }

  $("when").textContent = new Date().toLocaleString();
  fetch("/notes.txt").then(function (r) {
    $("server").textContent = r.headers.get("server") || "the library";
  }).catch(function () {});

  /* ---- counter */
  var counter = lws.connect("dumb-increment-protocol", {
    message: function (data) { $("counter").textContent = data; }
  });
  $("counter-reset").addEventListener("click", function () {
    counter.send("reset\n");
  });

  /* ---- mirror */
  var canvas = $("mirror-canvas"), ctx = canvas.getContext("2d");
  var color = "#" + ("00000" + Math.floor(Math.random() * 0xc0c0c0).toString(16)).slice(-6);
  var last = null;

  $("mirror-color").style.background = color;

  function stroke(c, x0, y0, x1, y1) {
    ctx.strokeStyle = c;
    ctx.lineWidth = 3;
    ctx.lineCap = "round";
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    ctx.stroke();
  }

  var mirror = lws.connect("lws-mirror-protocol", {
    message: function (data) {
      var m;
      if (typeof data !== "string")
        return;
      if (data === "clear") {
        ctx.clearRect(0, 0, canvas.width, canvas.height);
      } else if ((m = /^d (#[0-9a-fA-F]{6}) (-?\d+) (-?\d+) (-?\d+) (-?\d+)$/.exec(data))) {
        stroke(m[1], +m[2], +m[3], +m[4], +m[5]);
      } else {
        addLine($("mirror-log"), data.slice(0, 2) === "t " ? data.slice(2) : data);
      }
    }
  });

  function mirrorSend(text) {
    return mirror.send("t " + text);
  }

  $("mirror-form").addEventListener("submit", function (ev) {
    var input = $("mirror-text");
    ev.preventDefault();
    if (input.value && mirrorSend(input.value))
      input.value = "";
  });

  function point(ev) {
    var r = canvas.getBoundingClientRect();
    return {
      x: Math.round((ev.clientX - r.left) * canvas.width / r.width),
      y: Math.round((ev.clientY - r.top) * canvas.height / r.height)
    };
  }
  canvas.addEventListener("pointerdown", function (ev) {
    last = point(ev);
    canvas.setPointerCapture(ev.pointerId);
  });
  canvas.addEventListener("pointermove", function (ev) {
    if (!last)
      return;
    var p = point(ev);
    /* drawn when the server mirrors it back, as in every other page */
    mirror.send("d " + color + " " + last.x + " " + last.y + " " + p.x + " " + p.y);
    last = p;
  });
  ["pointerup", "pointercancel"].forEach(function (name) {
    canvas.addEventListener(name, function () { last = null; });
  });
  $("mirror-clear").addEventListener("click", function () {
    mirror.send("clear");
  });

  /* ---- echo */
  var echo = lws.connect("lws-echo", {
    message: function (data) {
      addLine($("echo-log"), typeof data === "string" ? data : "(binary)", "echoed");
    }
  });

  function echoSend(text) {
    if (!echo.send(text))
      return false;
    addLine($("echo-log"), text, "sent");
    return true;
  }

  $("echo-form").addEventListener("submit", function (ev) {
    var input = $("echo-text");
    ev.preventDefault();
    if (input.value && echoSend(input.value))
      input.value = "";
  });

  window.demo = { mirrorSend: mirrorSend, echoSend: echoSend };
})();
