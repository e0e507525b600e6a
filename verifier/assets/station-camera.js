// The station's camera: reads QR labels (item labels and carton labels alike) from the phone's rear
// camera and hands each read to the scan form, so a camera read takes exactly the path of a typed
// or wedge-scanned code: the page's queue, one submission per label, the same rows and alarms.
// Decodes with the browser's BarcodeDetector where it reads QR codes, and otherwise with jsQR,
// fetched only when the camera first opens. Without a camera API this script leaves the page as it
// is (the camera section stays hidden); the texts it shows come from the section's data
// attributes, in the page's language.
(function () {
  "use strict";
  var box = document.getElementById("camera");
  var form = document.getElementById("scan-form");
  var input = document.getElementById("scan-code");
  if (!box || !form || !input) return;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  var start = document.getElementById("camera-start");
  var stop = document.getElementById("camera-stop");
  var video = document.getElementById("camera-video");
  var status = document.getElementById("camera-status");

  // A few frames a second read a label held in front of the camera at once, and leave a cheap
  // phone's processor to the page.
  var EVERY_MS = 250;
  // A label stays in view for many frames: it is submitted once, and again only after it has been
  // out of sight this long (so the same label is not recorded twice by holding it still).
  var SAME_LABEL_MS = 3000;
  // After a read, a short pause: the confirmation is seen before the next part comes into view.
  var COOL_DOWN_MS = 700;
  // Frames are scaled down to this many pixels on their longer side before jsQR reads them.
  var MAX_SIDE = 640;

  var stream = null, run = 0, detect = null, canvas = null, audio = null, timer = null;
  var last = "", lastSeen = 0, reads = 0;
  box.hidden = false;

  function say(text, kind, code) {
    // Boxed like the page's other messages, or plain for "opening" and "point at a label".
    status.className = kind ? "verdict " + kind : "";
    status.textContent = text;
    if (code) {
      var c = document.createElement("span");
      c.className = "code";
      c.textContent = code;
      status.appendChild(c);
    }
  }

  // The message for a failed getUserMedia, by the error's standard name.
  function refusal(e) {
    var name = e && e.name;
    if (name === "NotAllowedError" || name === "SecurityError") return box.dataset.denied;
    if (name === "NotFoundError" || name === "OverconstrainedError") return box.dataset.none;
    return box.dataset.failed + (name || String(e));
  }

  function load(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = function () { reject(new Error(src)); };
      document.head.appendChild(s);
    });
  }

  // What a frame of the video reads as: its QR code's text, or null.
  function decoder() {
    if (detect) return Promise.resolve(detect);
    var native = window.BarcodeDetector && window.BarcodeDetector.getSupportedFormats
      ? window.BarcodeDetector.getSupportedFormats().then(
          function (formats) { return formats.indexOf("qr_code") >= 0; },
          function () { return false; })
      : Promise.resolve(false);
    return native.then(function (has) {
      if (has) {
        var detector = new window.BarcodeDetector({formats: ["qr_code"]});
        box.setAttribute("data-decoder-used", "BarcodeDetector");
        detect = function (frame) {
          return detector.detect(frame).then(function (codes) {
            return codes.length ? codes[0].rawValue : null;
          });
        };
        return detect;
      }
      return load(box.dataset.decoder).then(function () {
        box.setAttribute("data-decoder-used", "jsQR");
        detect = function (frame) {
          var img = pixels(frame);
          var code = img && window.jsQR(img.data, img.width, img.height, {inversionAttempts: "dontInvert"});
          return Promise.resolve(code ? code.data : null);
        };
        return detect;
      });
    });
  }

  function pixels(frame) {
    var w = frame.videoWidth, h = frame.videoHeight;
    if (!w || !h) return null;
    var scale = Math.min(1, MAX_SIDE / Math.max(w, h));
    w = Math.round(w * scale);
    h = Math.round(h * scale);
    canvas = canvas || document.createElement("canvas");
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== h) canvas.height = h;
    var ctx = canvas.getContext("2d", {willReadFrequently: true});
    ctx.drawImage(frame, 0, 0, w, h);
    return ctx.getImageData(0, 0, w, h);
  }

  // A short high tone and a buzz: unlike the alarm's low tones, it only says "read".
  function chirp() {
    try {
      if (audio) {
        var o = audio.createOscillator(), g = audio.createGain(), t0 = audio.currentTime;
        o.type = "sine"; o.frequency.value = 1320; g.gain.value = 0.15;
        o.connect(g); g.connect(audio.destination);
        o.start(t0); o.stop(t0 + 0.09);
      }
      if (navigator.vibrate) navigator.vibrate(60);
    } catch (e) {}
  }

  // What the confirmation shows of a read: a link's path (GTIN and serial, or the carton's SSCC),
  // without the host and the signature, which would fill a phone's screen.
  function brief(text) {
    try {
      var u = new URL(text);
      if (u.pathname.length > 1) return u.pathname;
    } catch (e) {}
    return text.length > 60 ? text.slice(0, 60) + "…" : text;
  }

  // Submits `text` unless it is the label still in view; says whether it did.
  function read(text) {
    var now = Date.now();
    var same = text === last && now - lastSeen < SAME_LABEL_MS;
    last = text;
    lastSeen = now;
    if (same || !text) return false;
    reads += 1;
    box.setAttribute("data-reads", String(reads));
    box.setAttribute("data-last", text);
    input.value = text;
    // The form's own submit handler queues it, as it does for Enter from a scanner.
    if (form.requestSubmit) form.requestSubmit();
    else form.dispatchEvent(new Event("submit", {cancelable: true}));
    say(box.dataset.read, "ok", brief(text));
    video.style.outline = "6px solid #0a6b2e";
    setTimeout(function () { video.style.outline = ""; }, COOL_DOWN_MS);
    chirp();
    return true;
  }

  function tick(mine) {
    if (mine !== run) return;
    var frame = video.readyState >= 2 ? detect(video) : Promise.resolve(null);
    frame.catch(function () { return null; }).then(function (text) {
      if (mine !== run) return;
      var submitted = text ? read(String(text).trim()) : false;
      timer = setTimeout(function () { tick(mine); }, submitted ? COOL_DOWN_MS : EVERY_MS);
    });
  }

  // Releases the camera: every track stopped, so the phone's camera light goes out.
  function close() {
    run += 1;
    if (timer) clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    stop.hidden = true;
    start.hidden = false;
    last = "";
    box.setAttribute("data-state", "closed");
  }

  start.addEventListener("click", function () {
    if (stream) return;
    // Sound may start only from a tap: make the context now.
    try { audio = audio || new (window.AudioContext || window.webkitAudioContext)(); } catch (e) {}
    var mine = ++run;
    start.disabled = true;
    say(box.dataset.starting);
    navigator.mediaDevices.getUserMedia({
      audio: false,
      video: {facingMode: {ideal: "environment"}, width: {ideal: 1280}, height: {ideal: 720}}
    }).then(function (s) {
      if (mine !== run) { s.getTracks().forEach(function (t) { t.stop(); }); return; }
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      start.hidden = true;
      stop.hidden = false;
      box.setAttribute("data-state", "open");
      // On a phone: the picture at the top, the scan input and the newest row under it.
      box.scrollIntoView({block: "start"});
      return Promise.all([video.play(), decoder()]).then(function () {
        if (mine !== run) return;
        say(box.dataset.aim);
        tick(mine);
      });
    }).catch(function (e) {
      if (mine !== run) return;
      close();
      say(refusal(e), "danger");
    }).then(function () { start.disabled = false; });
  });

  stop.addEventListener("click", function () {
    close();
    say("");
  });
  // Leaving the page (or a phone putting it away) releases the camera too.
  window.addEventListener("pagehide", close);
})();
