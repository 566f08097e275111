// VIG Workbench video player (anywidget front end).
//
// The browser plays the file itself (HTML5 <video>); Python only hears the small synced state:
// current_ms, playing, rate, and key presses for coding. Frame steps use the recording's real
// frame timestamps (frame_times, ms), so variable-frame-rate phone video steps correctly.

import { fmt, parseTime, el, TIME_HELP } from "./shared.js";

const RATES = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2];
const SEND_EVERY_MS = 100; // current_ms updates to Python while playing (10 per second)
const RESERVED = new Set([" ", ",", ".", "[", "]", "Enter", "Escape"]);

// index of the frame shown at time t: the last frame whose timestamp is <= t
function frameAt(times, t) {
  if (!times.length) return 0;
  let lo = 0;
  let hi = times.length - 1;
  if (t <= times[0]) return 0;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (times[mid] <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function render({ model, el: root }) {
  const box = el("div", { class: "wb-player", "data-wb": "player", tabindex: "0", "data-lm-suppress-shortcuts": "" });
  const video = el("video", { preload: "auto", playsinline: "" });
  const message = el("div", { class: "wb-player-message", "data-wb": "player-message" });
  const playBtn = el("button", { class: "wb-btn", "data-wb": "play", title: "play / pause (space)" }, "▶");
  const back = el("button", { class: "wb-btn", "data-wb": "frame-back", title: "one frame back (,)" }, "|◀");
  const fwd = el("button", { class: "wb-btn", "data-wb": "frame-forward", title: "one frame forward (.)" }, "▶|");
  const rate = el("select", { class: "wb-rate", "data-wb": "rate", title: "playback speed" });
  for (const r of RATES) rate.append(el("option", { value: String(r) }, `${r}×`));
  const clock = el("span", { class: "wb-clock", "data-wb": "clock" });
  const jump = el("input", { class: "wb-jump", "data-wb": "jump", placeholder: "12.5 or 1:05", size: "10", title: `go to ${TIME_HELP}; Enter` });
  const loop = el("button", { class: "wb-btn", "data-wb": "loop", title: "loop the selected moment" }, "⟲");
  const actorSel = el("select", { class: "wb-actor", "data-wb": "actor", title: "actor for keyboard coding" });
  const bar = el("div", { class: "wb-controls" }, [back, playBtn, fwd, rate, clock, jump, loop, actorSel]);
  const caption = el("input", { class: "wb-caption", "data-wb": "still-caption", placeholder: "caption of the still", size: "28" });
  const still = el("button", { class: "wb-btn", "data-wb": "still-button", title: "store this exact frame as a still" }, "grab still");
  const comment = el("input", { class: "wb-comment", "data-wb": "comment-input", placeholder: "comment at this time (Enter)", size: "32" });
  const cstatus = el("select", { "data-wb": "comment-status", title: "status of the comment" });
  for (const s of ["agree", "discuss", "revise"]) cstatus.append(el("option", { value: s }, s));
  cstatus.value = "discuss";
  const actions = el("div", { class: "wb-controls" }, [caption, still, comment, cstatus]);
  box.append(video, message, bar, actions);
  for (const input of [caption, comment]) input.addEventListener("keydown", (e) => e.stopPropagation());
  still.addEventListener("click", () => {
    model.send({ type: "still", time_ms: Math.round(video.currentTime * 1000), caption: caption.value });
    caption.value = "";
  });
  comment.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && comment.value.trim()) {
      model.send({ type: "comment", time_ms: Math.round(video.currentTime * 1000), text: comment.value, status: cstatus.value });
      comment.value = "";
    }
  });
  root.append(box);

  let lastSent = -1;
  let lastSentAt = 0;
  let raf = null;

  const times = () => model.get("frame_times") || [];

  function showClock(t) {
    clock.textContent = `${fmt(t)}  frame ${frameAt(times(), t)}`;
  }

  // the other parts of the same review (the timeline's playhead) follow the video in the browser at once
  let lastTold = -1;
  function tell(t) {
    if (t === lastTold) return;
    lastTold = t;
    box.dispatchEvent(new CustomEvent("wb-time", { bubbles: true, detail: { ms: t } }));
  }

  function pushTime(force) {
    const t = Math.round(video.currentTime * 1000);
    const now = performance.now();
    if (t !== lastSent && (force || now - lastSentAt >= SEND_EVERY_MS)) {
      lastSent = t;
      lastSentAt = now;
      model.set("current_ms", t);
      model.save_changes();
    }
    showClock(t);
    tell(t);
    const lo = model.get("loop_start_ms");
    const hi = model.get("loop_end_ms");
    if (model.get("looping") && hi > lo && t >= hi) video.currentTime = lo / 1000;
  }

  function tick() {
    pushTime(false);
    raf = video.paused ? null : requestAnimationFrame(tick);
  }

  function seek(ms) {
    const dur = model.get("duration_ms");
    ms = Math.max(0, dur > 0 ? Math.min(ms, dur) : ms);
    // land inside the frame: half a millisecond past its timestamp avoids rounding to the previous one
    video.currentTime = (ms + 0.5) / 1000;
    lastSent = -1;
  }

  function stepFrame(delta) {
    video.pause();
    const ts = times();
    if (!ts.length) return;
    const i = Math.min(ts.length - 1, Math.max(0, frameAt(ts, Math.round(video.currentTime * 1000)) + delta));
    seek(ts[i]);
  }

  function baseUrl() {
    // Jupyter (Lab, Notebook 7, Voila as a server extension) puts its base URL in the page config
    try {
      const cfg = JSON.parse(document.getElementById("jupyter-config-data").textContent);
      return cfg.baseUrl || "/";
    } catch (e) {
      return "/";
    }
  }

  // The source: the server's media route when it answers (JupyterLab, Notebook 7, Voila as a server
  // extension), else the file sent by the kernel in chunks and played from memory (standalone Voila,
  // whose catch-all route would start a new kernel for a GET of an unknown path: hence HEAD first).
  let wanted = null;  // the src (absolute) the video is showing or about to show
  let objectUrl = null;
  let fetchId = 0;
  let pending = null;  // {id, chunks, resolve, reject} of the kernel transfer under way

  async function routeServes(src) {
    try {
      const res = await fetch(src, { method: "HEAD", credentials: "same-origin", cache: "no-store" });
      const type = res.headers.get("content-type") || "";
      return res.ok && !type.startsWith("text/html");
    } catch (e) {
      return false;
    }
  }

  function say(text) {
    message.textContent = text;
    message.style.display = text ? "block" : "none";
  }

  function fromKernel() {
    const id = ++fetchId;
    return new Promise((resolve, reject) => {
      pending = { id, chunks: [], got: 0, resolve, reject };
      model.send({ type: "media-fetch", request: id, offset: 0 });
    });
  }

  model.on("msg:custom", (msg, buffers) => {
    if (!msg || msg.type !== "media-chunk" || !pending || msg.request !== pending.id) return;
    const p = pending;
    if (msg.error) {
      pending = null;
      p.reject(new Error(msg.error));
      return;
    }
    const part = buffers && buffers[0];
    const bytes = part ? (part.byteLength !== undefined ? part : new Uint8Array(part)) : new Uint8Array(0);
    p.chunks.push(bytes);
    p.got += bytes.byteLength;
    say(`Loading the video through the notebook's kernel: ${Math.round((100 * p.got) / Math.max(1, msg.total))}%`);
    if (msg.done || bytes.byteLength === 0) {
      pending = null;
      p.resolve(new Blob(p.chunks, { type: msg.mime || "video/mp4" }));
    } else {
      model.send({ type: "media-fetch", request: p.id, offset: msg.offset + bytes.byteLength });
    }
  });

  async function setSource() {
    let src = model.get("src");
    if (src && !/^(https?:|blob:|data:|\/)/.test(src)) src = baseUrl().replace(/\/?$/, "/") + src;
    say(model.get("message") || "");
    if (!src || src === wanted) return;
    wanted = src;
    if (/^(blob:|data:)/.test(src) || (await routeServes(src))) {
      if (wanted === src) video.setAttribute("src", src);
      return;
    }
    try {
      const blob = await fromKernel();
      if (wanted !== src) return;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = URL.createObjectURL(blob);
      video.setAttribute("src", objectUrl);
      say(model.get("message") || "");
    } catch (e) {
      if (wanted === src) say(e.message);
    }
  }

  function setActors() {
    actorSel.replaceChildren(...(model.get("actors") || []).map((a) => el("option", { value: a }, a)));
    actorSel.value = model.get("actor") || "";
  }

  video.addEventListener("play", () => {
    playBtn.textContent = "❚❚";
    if (!model.get("playing")) {
      model.set("playing", true);
      model.save_changes();
    }
    if (!raf) raf = requestAnimationFrame(tick);
  });
  video.addEventListener("pause", () => {
    playBtn.textContent = "▶";
    pushTime(true);
    if (model.get("playing")) {
      model.set("playing", false);
      model.save_changes();
    }
  });
  video.addEventListener("seeked", () => pushTime(true));
  video.addEventListener("error", () => {
    const err = video.error;
    const code = err ? err.code : "?";
    // Python's message (when it knew the codec) already says what to do: do not say it twice
    const said = model.get("message") || "";
    message.textContent = said
      ? `${said} (media error ${code})`
      : `The browser cannot play this video (media error ${code}). ` +
        "Convert it with review.transcode() to keep an H.264 copy in the project.";
    message.style.display = "block";
  });

  playBtn.addEventListener("click", () => (video.paused ? video.play() : video.pause()));
  back.addEventListener("click", () => stepFrame(-1));
  fwd.addEventListener("click", () => stepFrame(1));
  rate.addEventListener("change", () => {
    model.set("rate", parseFloat(rate.value));
    model.save_changes();
  });
  jump.addEventListener("keydown", (e) => {
    e.stopPropagation();
    if (e.key === "Enter") {
      const t = parseTime(jump.value);
      if (t !== null) seek(t);
    }
  });
  loop.addEventListener("click", () => {
    model.set("looping", !model.get("looping"));
    model.save_changes();
  });
  actorSel.addEventListener("change", () => {
    model.set("actor", actorSel.value);
    model.save_changes();
  });

  // Keyboard: the whole review listens (the player, the table, the timeline, the notes), so that a key
  // codes after any click inside it. Player keys are handled here; coding keys go to Python with the exact
  // video time. Text fields keep their keys. The review is marked with data-lm-suppress-shortcuts, so no key
  // reaches JupyterLab's shortcuts (a "b" would insert a cell, "dd" delete one) while it has the focus.
  const scope = () => box.closest(".wb-review") || box;
  const typing = (t) =>
    t instanceof Element && (t.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']") !== null);
  const down = new Map();
  function onKeyDown(e) {
    if (typing(e.target) || !scope().contains(e.target)) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = Math.round(video.currentTime * 1000);
    if (e.key === " ") (video.paused ? video.play() : video.pause());
    else if (e.key === ",") stepFrame(-1);
    else if (e.key === ".") stepFrame(1);
    else if (e.key === "[") model.send({ type: "mark", which: "in", time_ms: t });
    else if (e.key === "]") model.send({ type: "mark", which: "out", time_ms: t });
    else if (!RESERVED.has(e.key) && e.key.length === 1 && (model.get("shortcuts") || {})[e.key]) {
      if (!e.repeat) {
        down.set(e.key, { t, wall: Math.round(performance.now()) }); // sent with the key-up
      }
    } else return;
    e.preventDefault();
    e.stopPropagation();
  }
  function onKeyUp(e) {
    if (!down.has(e.key)) return;
    const t = Math.round(video.currentTime * 1000);
    const d = down.get(e.key);
    model.send({ type: "key", key: e.key, phase: "up", time_ms: t, onset_ms: d.t, down_wall_ms: d.wall, actor: actorSel.value });
    down.delete(e.key);
    e.preventDefault();
  }
  // After a click anywhere in the review but a text field or a list, the player has the focus again, so
  // that the next key codes (a click on a table row or a timeline bar would otherwise leave the focus on the
  // notebook, whose shortcuts would take the key).
  function keepFocus(e) {
    if (typing(e.target) || e.target === box || box.contains(document.activeElement)) return;
    box.focus({ preventScroll: true });
  }
  let keyScope = null;
  function bindScope() {
    const s = scope();
    if (s === keyScope) return;
    if (keyScope) {
      keyScope.removeEventListener("keydown", onKeyDown);
      keyScope.removeEventListener("keyup", onKeyUp);
      keyScope.removeEventListener("click", keepFocus, true);
    }
    keyScope = s;
    s.setAttribute("data-lm-suppress-shortcuts", "");
    s.addEventListener("keydown", onKeyDown);
    s.addEventListener("keyup", onKeyUp);
    s.addEventListener("click", keepFocus, true);
  }
  bindScope();

  model.on("change:src", setSource);
  model.on("change:message", setSource);
  model.on("change:actors", setActors);
  model.on("change:actor", () => (actorSel.value = model.get("actor")));
  model.on("change:rate", () => {
    video.playbackRate = model.get("rate");
    rate.value = String(model.get("rate"));
  });
  model.on("change:playing", () => {
    const want = model.get("playing");
    if (want && video.paused) video.play();
    if (!want && !video.paused) video.pause();
  });
  model.on("change:looping", () => loop.classList.toggle("wb-on", model.get("looping")));
  model.on("change:seek_request", () => {
    const req = model.get("seek_request");
    if (req && typeof req.ms === "number") seek(req.ms);
  });

  setSource();
  setActors();
  video.playbackRate = model.get("rate");
  rate.value = String(model.get("rate"));
  showClock(model.get("current_ms"));
  if (model.get("current_ms") > 0) seek(model.get("current_ms"));

  // Seeks asked for by the other parts of the same review (a table row, a timeline mark, a comment) come as
  // "wb-seek" events and are done here, in the browser, at once; Python hears of them by their messages.
  const sameReview = (target) => {
    const review = box.closest(".wb-review");
    return review !== null && target instanceof Element && target.closest(".wb-review") === review;
  };
  const onSeekEvent = (e) => {
    if (e.detail && !e.detail.handled && typeof e.detail.ms === "number" && sameReview(e.target)) {
      e.detail.handled = true;
      seek(e.detail.ms);
    }
  };
  document.addEventListener("wb-seek", onSeekEvent);
  // the review's element holds the player once ipywidgets has attached all its parts: bind the keys to it then
  let tries = 0;
  const rebind = setInterval(() => {
    bindScope();
    if (keyScope !== box || ++tries > 100) clearInterval(rebind);
  }, 50);

  return () => {
    if (raf) cancelAnimationFrame(raf);
    pending = null;
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    clearInterval(rebind);
    document.removeEventListener("wb-seek", onSeekEvent);
    if (keyScope) {
      keyScope.removeEventListener("keydown", onKeyDown);
      keyScope.removeEventListener("keyup", onKeyUp);
      keyScope.removeEventListener("click", keepFocus, true);
    }
    video.pause();
  };
}

export default { render };
