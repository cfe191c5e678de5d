// laughvid player-timeline: one clock for the video, the laugh curves and the segment bands.
// Everything a key or a drag does to the view happens here, at once; what changes the stored review
// is sent to Python as an `edit` trigger (the band is redrawn as it will be while the rerun saves
// it), and the next rerun's data is the truth again. Module-level memory keeps the playhead, zoom,
// selection and loop of each video across reruns and remounts (sessionStorage: across reloads).

const STATE_COLOURS = { pending: [255, 170, 0], accepted: [40, 167, 69], added: [23, 130, 200], rejected: [220, 53, 69] };
const PERSON_COLOURS = ["#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];
const EDGE_PX = 6; // how close to a band's edge a press grabs the edge
const MIN_SPAN_S = 0.5; // the narrowest zoom
const memory = new Map(); // video sha -> {t, t0, t1, sel, loop, mark}
let activePlayer = null; // the keyboard drives the player on screen
const seriesCache = new Map(); // series URL -> Promise of its curves: fetched once, kept across reruns and remounts
const NO_SERIES = { frames: [], lanes: [], notes: [] };

/** The curves at `url` (laughvid/ui/series_route.py): one request per URL; the browser caches it too. */
function loadSeries(url) {
  if (!seriesCache.has(url)) {
    const p = fetch(url).then((r) => {
      if (!r.ok) throw new Error(`the timeline's curves did not load (HTTP ${r.status}): reload the page`);
      return r.json();
    });
    p.catch(() => seriesCache.delete(url)); // a failed load is tried again on the next rerun
    seriesCache.set(url, p);
    while (seriesCache.size > 8) seriesCache.delete(seriesCache.keys().next().value);
  }
  return seriesCache.get(url);
}

function rgba(state, a) {
  const [r, g, b] = STATE_COLOURS[state] || STATE_COLOURS.pending;
  return `rgba(${r},${g},${b},${a})`;
}

function remembered(sha) {
  if (!memory.has(sha)) {
    let saved = null;
    try { saved = JSON.parse(sessionStorage.getItem("laughvid:" + sha) || "null"); } catch (e) { saved = null; }
    memory.set(sha, saved || {});
  }
  return memory.get(sha);
}

function typing(t) {
  const tag = t.tagName.toLowerCase();
  if (tag === "textarea" || tag === "select" || t.isContentEditable) return true;
  return tag === "input" && !["checkbox", "radio", "button", "range"].includes((t.type || "").toLowerCase());
}

/** Whether the focused element `t` needs this key itself: a box being typed in takes every key; a
 * slider or radio group its arrows; a control reached with Tab (a button, a box to tick, an expander)
 * Enter and Space, so the exports and the rest of the page work from the keyboard. A control that
 * was clicked is not :focus-visible, and Space and Enter stay with the player after a click. */
function ownsKey(t, key) {
  if (!t || !t.tagName) return false;
  if (typing(t)) return true;
  const tag = t.tagName.toLowerCase(), type = (t.type || "").toLowerCase(), role = t.getAttribute("role") || "";
  if (key.startsWith("Arrow")) return ["range", "radio"].includes(type) || ["slider", "radio", "tab", "option"].includes(role);
  if (key !== "Enter" && key !== " ") return false;
  const control = ["button", "a", "summary"].includes(tag) || ["checkbox", "radio"].includes(type) || ["button", "tab", "option", "checkbox", "switch"].includes(role);
  return control && t.matches(":focus-visible");
}

function lowerBound(arr, x) {
  let lo = 0, hi = arr.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (arr[mid] < x) lo = mid + 1; else hi = mid; }
  return lo;
}

function niceStep(span, px) {
  const raw = span / Math.max(1, px / 90);
  const steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  return steps.find((s) => s >= raw) || 7200;
}

function clock(t) {
  const m = Math.floor(t / 60), s = t - 60 * m;
  return m ? `${m}:${s.toFixed(2).padStart(5, "0")}` : `${s.toFixed(2)} s`;
}

class Player {
  constructor(root) {
    this.root = root;
    const q = (s) => root.querySelector(s);
    this.box = q(".lv");
    this.video = q(".lv-video");
    this.noVideo = q(".lv-novideo");
    this.playBtn = q(".lv-play");
    this.timeEl = q(".lv-time");
    this.rateEl = q(".lv-rate");
    this.legendEl = q(".lv-legend");
    this.autoBox = q(".lv-auto");
    this.over = q(".lv-overview");
    this.lanes = q(".lv-lanes");
    this.segEl = q(".lv-seg");
    this.noteEl = q(".lv-note");
    this.statusEl = q(".lv-status");
    this.help = q(".lv-help");
    this.buttons = Object.fromEntries([...root.querySelectorAll("[data-op]")].map((b) => [b.dataset.op, b]));
    this.data = null;
    this.seriesUrl = null;
    this.setSeries(NO_SERIES);
    this.segments = [];
    this.sel = null; // {start, end} of the selected segment
    this.view = { t0: 0, t1: 1 };
    this.loop = false;
    this.mark = null; // an in-point set with I while nothing is selected
    this.reverse = 0; // J: reverse speed (emulated: Chromium cannot play backwards)
    this.drag = null;
    this.nonce = 0;
    this.unsent = []; // edits pressed while another is being stored (see edit())
    this.layers = new Map(); // canvas -> {key, img}: its drawing without the playhead (see layer())
    this.version = 0;
    this.inFlight = null;
    this.seen = { reply: null, command: null };
    this.raf = 0;
    this.autoBox.checked = localStorage.getItem("laughvid:auto") !== "0";
    this.listen();
    activePlayer = this;
  }

  // ------------------------------------------------------------ data from Python (each rerun)
  update(data, trigger) {
    this.trigger = trigger;
    const newVideo = !this.data || this.data.video.sha !== data.video.sha;
    this.data = data;
    this.fps = data.video.fps || 30;
    this.duration = data.video.duration;
    this.segments = data.segments.map((s) => ({ ...s }));
    if (data.series !== this.seriesUrl) { // another analysis or tuning: its curves, once per URL
      const url = (this.seriesUrl = data.series);
      if (newVideo) this.setSeries(NO_SERIES);
      loadSeries(url).then(
        (series) => { if (this.seriesUrl === url) { this.setSeries(series); this.legend(); this.refresh(); } },
        (err) => { if (this.seriesUrl === url) { this.seriesUrl = null; this.say(err.message, true); } },
      );
    }
    if (newVideo) { this.openVideo(data.video); this.unsent = []; this.inFlight = null; }
    const reply = data.reply;
    if (reply && reply.nonce !== this.seen.reply) {
      this.seen.reply = reply.nonce;
      if (this.inFlight && reply.nonce === this.inFlight.payload.nonce) this.inFlight = null;
      this.say(reply.message, !reply.ok);
      // The answer's bounds select the edited segment, unless the reviewer has moved on since (another
      // edit, n / p, a / x advancing): a late answer must not pull the selection back to it.
      if (reply.ok && reply.focus && this.sent && reply.nonce === this.sent.nonce && this.sameSel(this.sent.sel)) this.sel = { start: reply.focus[0], end: reply.focus[1] };
    }
    const command = data.command;
    if (command && command.nonce !== this.seen.command) {
      this.seen.command = command.nonce;
      if (command.select) { this.sel = { start: command.select[0], end: command.select[1] }; this.seek(command.select[0]); }
      else if (command.seek != null) { this.sel = null; this.seek(command.seek); }
    }
    // Edits not answered yet are drawn again over the new data, and the next one is sent.
    for (const e of [this.inFlight, ...this.unsent]) if (e) e.apply();
    this.sendNext();
    this.legend();
    this.refresh();
  }

  /** The curves from the series route: frames (ms), lanes of lines (percent), notes. */
  setSeries(series) {
    this.series = series;
    this.frames = Float64Array.from(series.frames, (ms) => ms / 1000);
    this.snaps = Float64Array.from([...this.frames, this.duration || 0]).sort();
    this.lines = series.lanes.flatMap((lane, li) => lane.lines.map((line) => ({ ...line, lane: li, t: line.t ? Float64Array.from(line.t, (ms) => ms / 1000) : this.frames })));
    this.version += 1; // new curves: the cached drawing is stale (see layer())
    this.box.dataset.lanes = series.lanes.map((lane) => lane.title).join("|"); // the canvas grows with the lanes (CSS)
    this.noteEl.textContent = series.notes.join(" ");
    this.noteEl.title = series.notes.join(" ");
    this.noteEl.hidden = !series.notes.length;
  }

  openVideo(video) {
    const mem = remembered(video.sha);
    this.mem = mem;
    this.view = mem.t1 > mem.t0 ? { t0: mem.t0, t1: mem.t1 } : { t0: 0, t1: this.duration };
    this.sel = mem.sel || null;
    this.loop = !!mem.loop;
    this.mark = null;
    this.stopReverse();
    this.noVideo.hidden = !video.problem;
    this.noVideo.textContent = video.problem || "";
    this.video.hidden = !!video.problem;
    if (!video.problem && this.video.dataset.src !== video.url) {
      this.video.dataset.src = video.url;
      this.video.src = video.url;
      const start = mem.t || 0;
      this.video.addEventListener("loadedmetadata", () => { if (start) this.video.currentTime = start; }, { once: true });
    }
  }

  // ------------------------------------------------------------ time
  now() {
    return this.video.hidden ? (this.mem.t || 0) : this.video.currentTime;
  }

  frameOf(t) { return Math.floor(t * this.fps + 1e-3); }

  /** A time just inside frame f: seeking exactly to f / fps can show frame f - 1 (rounding to the
   * stream's time base), so frame steps land 0.1 ms into the frame and stay exactly 1 / fps apart. */
  frameStart(f) { return f / this.fps + 1e-4; }

  /** The analysed frame time (or the video's end) nearest to t: where seeks and edges land. */
  snap(t) {
    const s = this.snaps;
    if (!s.length) return t;
    const i = lowerBound(s, t);
    if (i <= 0) return s[0];
    if (i >= s.length) return s[s.length - 1];
    return t - s[i - 1] <= s[i] - t ? s[i - 1] : s[i];
  }

  seek(t) {
    t = Math.min(Math.max(0, t), this.duration);
    if (!this.video.hidden) this.video.currentTime = t;
    this.mem.t = t;
    this.follow(t);
    this.refresh();
  }

  /** Keep the playhead in the zoomed view: page when it leaves it. */
  follow(t) {
    const { t0, t1 } = this.view, span = t1 - t0;
    if (t < t0 || t > t1) this.setView(t - span * 0.1, t - span * 0.1 + span);
  }

  step(frames) {
    this.pause();
    this.seek(Math.min(this.frameStart(this.frameOf(this.now()) + frames), this.duration));
  }

  play() {
    this.stopReverse();
    if (!this.video.hidden) this.video.play().catch(() => {});
  }

  pause() {
    this.stopReverse();
    if (this.video.hidden || this.video.paused) return;
    this.video.pause();
    this.video.currentTime = this.frameStart(this.frameOf(this.video.currentTime)); // stop on a frame: steps from here are whole frames
  }

  toggle() {
    if (this.video.paused && !this.reverse) this.play(); else this.pause();
  }

  faster(direction) {
    if (direction > 0) {
      if (this.reverse) this.stopReverse();
      if (this.video.paused) { this.video.playbackRate = 1; this.play(); }
      else this.video.playbackRate = Math.min(8, this.video.playbackRate * 2);
    } else {
      this.video.pause();
      this.reverse = this.reverse ? Math.min(8, this.reverse * 2) : 1;
      if (!this.reverseTimer) {
        let last = performance.now();
        this.reverseTimer = setInterval(() => {
          const t = performance.now();
          const next = this.now() - ((t - last) / 1000) * this.reverse;
          last = t;
          if (next <= 0) { this.seek(0); this.stopReverse(); } else this.seek(next);
        }, 80);
      }
    }
    this.refresh();
  }

  stopReverse() {
    if (this.reverseTimer) clearInterval(this.reverseTimer);
    this.reverseTimer = 0;
    this.reverse = 0;
  }

  // ------------------------------------------------------------ segments
  selectedIndex() {
    if (!this.sel) return -1;
    let best = -1, overlap = 0;
    this.segments.forEach((s, i) => {
      const o = Math.min(s.end, this.sel.end) - Math.max(s.start, this.sel.start);
      if (o > overlap) { overlap = o; best = i; }
    });
    return best;
  }

  select(i, seek = true) {
    const s = this.segments[i];
    if (!s) return;
    this.sel = { start: s.start, end: s.end };
    this.mark = null;
    if (this.statusEl.classList.contains("lv-error")) this.say(""); // a refusal of before ("select a segment first") is stale now
    if (seek) this.seek(s.start);
    this.refresh();
  }

  move(direction, pendingOnly = false) {
    const here = this.selectedIndex();
    // Nothing selected: n takes the segment the playhead is in (the hint says "n / p" to select one),
    // else the next one; p the last one that started before the playhead.
    const ahead = this.segments.findIndex((s) => s.end > this.now());
    let i = here >= 0 ? here + direction : (direction > 0 ? (ahead < 0 ? this.segments.length : ahead) : this.segments.filter((s) => s.start < this.now()).length - 1);
    while (i >= 0 && i < this.segments.length) {
      if (!pendingOnly || this.segments[i].state === "pending") { this.select(i); return true; }
      i += direction;
    }
    this.say(pendingOnly ? "no pending segment after this one" : `no ${direction > 0 ? "next" : "previous"} segment`);
    return false;
  }

  /** Send a change of the stored review to Python; `local(seg, i)` redraws it at once (and again
   * over each rerun's data until answered). Edits go one at a time, each after the answer to the one
   * before: Streamlit keeps only a component's last trigger value, so two keys pressed within one
   * rerun would otherwise lose the first edit (and the second, naming a segment the first made,
   * would be refused). */
  edit(op, fields = {}, local = null, i = this.selectedIndex()) {
    const seg = this.segments[i];
    const needs = !["add", "undo", "redo"].includes(op);
    if (needs && !seg) { this.say("select a segment first (click a band, or n / p)", true); return; }
    this.nonce += 1;
    const payload = { op, nonce: `${Date.now()}-${this.nonce}`, at: this.now(), ...fields };
    if (seg) payload.seg = { id: seg.id, start: seg.start, end: seg.end };
    const apply = () => {
      const j = payload.seg ? this.segments.findIndex((s) => Math.abs(s.start - payload.seg.start) < 1e-6 && Math.abs(s.end - payload.seg.end) < 1e-6) : -1;
      if (local && (j >= 0 || !payload.seg)) local(this.segments[j], j);
    };
    apply();
    this.unsent.push({ payload, apply });
    this.say(`${op}…`);
    this.sendNext();
    this.refresh();
    // What the key left selected (callers set it after this call): see the reply in update().
    const sent = (this.sent = { nonce: payload.nonce, sel: null });
    queueMicrotask(() => { sent.sel = this.sel && { ...this.sel }; });
  }

  sendNext() {
    if (this.inFlight || !this.unsent.length || !this.trigger) return;
    this.inFlight = this.unsent.shift();
    this.trigger("edit", this.inFlight.payload);
  }

  sameSel(sel) {
    return sel === this.sel || (!!sel && !!this.sel && sel.start === this.sel.start && sel.end === this.sel.end);
  }

  judge(state) {
    const i = this.selectedIndex();
    this.edit(state === "accepted" ? "accept" : "reject", {}, (seg) => { seg.state = seg.state === "added" && state === "accepted" ? "added" : state; });
    if (i >= 0 && this.autoBox.checked) {
      for (let j = i + 1; j < this.segments.length; j++) {
        if (this.segments[j].state === "pending") { this.select(j); return; }
      }
      this.say(`${state}: no pending segment after this one`);
    }
  }

  setEdge(which) {
    const t = this.snap(this.now());
    const i = this.selectedIndex();
    if (i < 0) {
      if (which === "start") { this.mark = t; this.say(`start marked at ${clock(t)}: press O at the end of the laugh`); this.refresh(); return; }
      if (this.mark == null || t <= this.mark) { this.say("nothing selected: press I at the start of a missed laugh, then O at its end", true); return; }
      const [start, end] = [this.mark, t];
      this.mark = null;
      this.sel = { start, end };
      this.edit("add", { start, end }, () => { this.segments.push({ start, end, state: "added", id: null, peak: 0 }); this.segments.sort((a, b) => a.start - b.start); });
      return;
    }
    const seg = this.segments[i];
    const start = which === "start" ? t : seg.start, end = which === "end" ? t : seg.end;
    if (!(end > start)) { this.say(`the ${which} would be ${which === "start" ? "after the end" : "before the start"} of the segment`, true); return; }
    this.bounds(i, start, end);
  }

  bounds(i, start, end) {
    this.edit("bounds", { start, end }, (s) => { s.start = start; s.end = end; if (s.state === "pending") s.state = "accepted"; }, i);
    this.sel = { start, end };
  }

  remove() {
    const i = this.selectedIndex();
    this.edit("delete", {}, (seg, j) => { this.segments.splice(j, 1); });
    this.sel = null;
    if (i >= 0 && this.segments[i]) this.select(i, false);
  }

  addHere() {
    const start = this.snap(this.now());
    const end = this.snap(Math.min(this.duration, start + 2));
    if (!(end > start)) { this.say("no room for a laugh after the playhead", true); return; }
    this.sel = { start, end };
    this.edit("add", { start, end }, () => { this.segments.push({ start, end, state: "added", id: null, peak: 0 }); this.segments.sort((a, b) => a.start - b.start); });
  }

  split() {
    const i = this.selectedIndex(), seg = this.segments[i];
    const at = this.snap(this.now());
    if (!seg || !(seg.start < at && at < seg.end)) { this.say("put the playhead inside the selected segment to split it", true); return; }
    this.edit("split", { at }, (s, j) => { this.segments.splice(j + 1, 0, { ...s, start: at }); s.end = at; });
    this.sel = { start: seg.start, end: at };
  }

  merge() {
    const i = this.selectedIndex(), next = this.segments[i + 1];
    if (i < 0) { this.edit("merge"); return; } // refused there ("select a segment first"); segments[-1] threw below
    if (!next) { this.say("no next segment to merge with", true); return; }
    this.edit("merge", { other: { id: next.id, start: next.start, end: next.end } }, (seg, j) => { const n = this.segments[j + 1]; if (n) { seg.end = Math.max(seg.end, n.end); this.segments.splice(j + 1, 1); } });
    this.sel = { start: this.segments[i].start, end: this.segments[i].end };
  }

  toggleLoop() {
    const i = this.selectedIndex();
    if (i < 0 && !this.loop) { this.say("select a segment to loop", true); return; }
    this.loop = !this.loop;
    if (this.loop) { this.seek(this.segments[i].start); this.play(); }
    this.refresh();
  }

  // ------------------------------------------------------------ view (zoom and pan)
  setView(t0, t1) {
    const span = Math.min(Math.max(t1 - t0, Math.min(MIN_SPAN_S, this.duration)), this.duration);
    t0 = Math.min(Math.max(0, t0), this.duration - span);
    this.view = { t0, t1: t0 + span };
    this.remember();
    this.refresh();
  }

  /** Zoom by `factor` around the playhead (keys z and -: the wheel's zoom without a mouse). */
  zoom(factor) {
    const t = this.now(), { t0, t1 } = this.view;
    this.setView(t - (t - t0) * factor, t + (t1 - t) * factor);
  }

  remember() {
    if (!this.mem || !this.data) return;
    Object.assign(this.mem, { t0: this.view.t0, t1: this.view.t1, sel: this.sel, loop: this.loop, t: this.now() });
    try { sessionStorage.setItem("laughvid:" + this.data.video.sha, JSON.stringify(this.mem)); } catch (e) { /* private mode */ }
  }

  xOf(t, w) { return ((t - this.view.t0) / (this.view.t1 - this.view.t0)) * w; }

  tOf(x, w) { return this.view.t0 + (x / w) * (this.view.t1 - this.view.t0); }

  // ------------------------------------------------------------ input
  listen() {
    const v = this.video;
    for (const ev of ["play", "pause", "ratechange", "seeked", "loadedmetadata"]) v.addEventListener(ev, () => this.refresh());
    v.addEventListener("error", () => { if (v.src) this.say("the video could not be loaded from the server: the timeline and review still work", true); });
    this.playBtn.addEventListener("click", () => this.toggle());
    this.autoBox.addEventListener("change", () => localStorage.setItem("laughvid:auto", this.autoBox.checked ? "1" : "0"));
    this.root.querySelector(".lv-fit").addEventListener("click", () => this.setView(0, this.duration));
    this.root.querySelector(".lv-helpbtn").addEventListener("click", () => { this.help.hidden = !this.help.hidden; });
    const ops = {
      accept: () => this.judge("accepted"), reject: () => this.judge("rejected"), start: () => this.setEdge("start"), end: () => this.setEdge("end"),
      split: () => this.split(), merge: () => this.merge(), loop: () => this.toggleLoop(), delete: () => this.remove(), add: () => this.addHere(),
      undo: () => this.edit("undo"), redo: () => this.edit("redo"),
    };
    for (const [op, b] of Object.entries(this.buttons)) b.addEventListener("click", () => ops[op]());
    this.ops = ops;
    this.onKey = (e) => this.key(e);
    window.addEventListener("keydown", this.onKey, true);
    this.lanes.addEventListener("pointerdown", (e) => this.press(e, "lanes"));
    this.over.addEventListener("pointerdown", (e) => this.press(e, "overview"));
    this.onMove = (e) => this.dragTo(e);
    this.onUp = (e) => this.release(e);
    window.addEventListener("pointermove", this.onMove);
    window.addEventListener("pointerup", this.onUp);
    this.lanes.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    this.resize = new ResizeObserver(() => this.refresh());
    this.resize.observe(this.lanes);
  }

  key(e) {
    if (activePlayer !== this || e.altKey || e.metaKey) return;
    const target = e.composedPath ? e.composedPath()[0] : e.target;
    if (ownsKey(target, e.key)) {
      if (e.key === "Escape" && typing(target)) target.blur(); // Esc leaves a box: the keys drive the player again
      return;
    }
    const k = e.key, ctrl = e.ctrlKey;
    const act = (fn) => { e.preventDefault(); e.stopPropagation(); fn(); };
    if (ctrl) {
      if (k === "z" || k === "Z") act(() => this.edit(e.shiftKey ? "redo" : "undo"));
      else if (k === "y") act(() => this.edit("redo"));
      return;
    }
    const keys = {
      " ": () => this.toggle(),
      ArrowRight: () => (e.shiftKey ? this.seek(this.now() + 1) : this.step(1)),
      ArrowLeft: () => (e.shiftKey ? this.seek(this.now() - 1) : this.step(-1)),
      j: () => this.faster(-1), k: () => this.pause(), l: () => this.faster(1),
      Home: () => this.seek(0), End: () => { this.pause(); this.seek(this.duration); },
      n: () => this.move(1), p: () => this.move(-1),
      a: this.ops.accept, x: this.ops.reject,
      i: this.ops.start, "[": this.ops.start, o: this.ops.end, "]": this.ops.end,
      s: this.ops.split, m: this.ops.merge, Enter: this.ops.loop,
      Delete: this.ops.delete, Backspace: this.ops.delete,
      "?": () => { this.help.hidden = !this.help.hidden; },
      "+": this.ops.add, 0: () => this.setView(0, this.duration), z: () => this.zoom(0.5), "-": () => this.zoom(2),
      Escape: () => { this.help.hidden = true; this.sel = null; this.mark = null; this.loop = false; this.refresh(); },
    };
    const fn = keys[k] || keys[k.length === 1 ? k.toLowerCase() : k];
    if (fn) act(fn);
  }

  press(e, where) {
    const canvas = where === "overview" ? this.over : this.lanes;
    const r = canvas.getBoundingClientRect(), x = e.clientX - r.left;
    canvas.setPointerCapture?.(e.pointerId);
    if (where === "overview") {
      const t = (x / r.width) * this.duration, span = this.view.t1 - this.view.t0;
      this.setView(t - span / 2, t + span / 2);
      this.drag = { kind: "pan-overview", canvas };
      return;
    }
    if (e.shiftKey) { this.drag = { kind: "pan", canvas, x0: x, v: { ...this.view } }; return; }
    const edge = this.edgeAt(x, r.width);
    if (edge) { this.drag = { kind: "edge", canvas, ...edge, moved: false }; return; }
    this.drag = { kind: "seek", canvas };
    const t = this.tOf(x, r.width);
    const i = this.segments.findIndex((s) => s.start <= t && t < s.end);
    if (i >= 0) { const s = this.segments[i]; this.sel = { start: s.start, end: s.end }; this.mark = null; }
    else this.sel = null;
    if (this.loop && i < 0) this.loop = false;
    this.seek(this.snap(t));
  }

  edgeAt(x, w) {
    const order = this.segments.map((s, i) => i);
    const sel = this.selectedIndex();
    if (sel >= 0) order.unshift(sel); // the selected band's edges win over a neighbour's
    for (const i of order) {
      const s = this.segments[i];
      for (const which of ["start", "end"]) {
        if (Math.abs(this.xOf(s[which], w) - x) <= EDGE_PX) return { index: i, which };
      }
    }
    return null;
  }

  dragTo(e) {
    const d = this.drag;
    if (!d) { this.hover(e); return; }
    const r = d.canvas.getBoundingClientRect(), x = e.clientX - r.left;
    if (d.kind === "pan-overview") {
      const t = (x / r.width) * this.duration, span = this.view.t1 - this.view.t0;
      this.setView(t - span / 2, t + span / 2);
    } else if (d.kind === "pan") {
      const dt = ((x - d.x0) / r.width) * (d.v.t1 - d.v.t0);
      this.setView(d.v.t0 - dt, d.v.t1 - dt);
    } else if (d.kind === "edge") {
      const s = this.segments[d.index];
      const t = this.snap(this.tOf(x, r.width));
      if (!d.orig) d.orig = { start: s.start, end: s.end };
      if (d.which === "start" && t < s.end) s.start = t;
      if (d.which === "end" && t > s.start) s.end = t;
      d.moved = true;
      this.sel = { start: s.start, end: s.end };
      this.refresh();
    } else if (d.kind === "seek") {
      this.seek(this.snap(this.tOf(x, r.width)));
    }
  }

  hover(e) {
    const r = this.lanes.getBoundingClientRect();
    if (e.target !== this.lanes) return;
    this.lanes.style.cursor = this.edgeAt(e.clientX - r.left, r.width) ? "ew-resize" : "crosshair";
  }

  release() {
    const d = this.drag;
    this.drag = null;
    if (!d) return;
    if (d.kind === "edge" && d.moved && d.orig) {
      const s = this.segments[d.index];
      if (s.start !== d.orig.start || s.end !== d.orig.end) {
        const { start, end } = s;
        Object.assign(s, d.orig); // the edit payload names the segment as stored
        this.sel = { ...d.orig };
        this.bounds(d.index, start, end);
      }
    }
    this.remember();
  }

  wheel(e) {
    e.preventDefault();
    const r = this.lanes.getBoundingClientRect(), w = r.width;
    const { t0, t1 } = this.view, span = t1 - t0;
    if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      const dt = ((e.shiftKey ? e.deltaY : e.deltaX) / w) * span;
      this.setView(t0 + dt, t1 + dt);
      return;
    }
    const at = this.tOf(e.clientX - r.left, w), factor = Math.exp(e.deltaY * 0.002);
    this.setView(at - (at - t0) * factor, at + (t1 - at) * factor);
  }

  // ------------------------------------------------------------ drawing
  say(message, error = false) {
    this.statusEl.textContent = message || "";
    this.statusEl.classList.toggle("lv-error", !!error);
  }

  legend() {
    const people = this.lines.filter((l) => l.person != null && l.lane === 0); // every lane draws its people alike
    this.legendEl.innerHTML = "";
    const add = (text, colour, dash) => {
      const s = document.createElement("span");
      s.textContent = `${dash ? "┈" : "━"} ${text}`;
      s.style.color = colour;
      this.legendEl.appendChild(s);
    };
    add("any face", "#333", false);
    people.forEach((l, n) => add(l.label, PERSON_COLOURS[n % PERSON_COLOURS.length], true));
    const th = document.createElement("span");
    th.textContent = `┄ threshold ${this.data.threshold.toFixed(2)}`;
    th.style.color = "#c00";
    this.legendEl.appendChild(th);
    this.legendEl.title = [...this.legendEl.children].map((c) => c.textContent).join("   ");
  }

  refresh() {
    if (!this.raf) this.raf = requestAnimationFrame(() => this.frame());
  }

  frame() {
    this.raf = 0;
    if (!this.data) return;
    const t = this.now();
    const playing = !this.video.paused || this.reverse;
    if (this.loop) {
      const i = this.selectedIndex();
      if (i < 0) this.loop = false;
      else if (t >= this.segments[i].end - 0.5 / this.fps || t < this.segments[i].start - 0.5) {
        this.video.currentTime = this.segments[i].start;
        if (this.video.paused) this.play();
      }
    }
    if (playing && !this.drag) this.follow(t);
    this.mem.t = t;
    this.draw(t);
    this.controls(t, playing);
    this.box.dataset.time = t.toFixed(4);
    this.box.dataset.playing = playing ? "1" : "0";
    this.box.dataset.view = `${this.view.t0.toFixed(3)},${this.view.t1.toFixed(3)}`;
    this.box.dataset.selected = String(this.selectedIndex());
    this.box.dataset.video = this.data.video.sha;
    if (playing) this.refresh();
  }

  controls(t, playing) {
    this.playBtn.textContent = playing ? "❚❚" : "▶";
    this.playBtn.setAttribute("aria-label", playing ? "Pause" : "Play");
    this.timeEl.textContent = `${clock(t)} / ${clock(this.duration)} · frame ${this.frameOf(t)}`;
    const rate = this.reverse ? `◀◀ ${this.reverse}x` : this.video.playbackRate !== 1 ? `${this.video.playbackRate}x` : "";
    this.rateEl.textContent = rate + (this.loop ? " ⟲ loop" : "");
    const i = this.selectedIndex(), s = this.segments[i];
    const pending = this.segments.filter((x) => x.state === "pending").length;
    this.segEl.textContent = s
      ? `#${i + 1}/${this.segments.length} ${s.start.toFixed(2)}–${s.end.toFixed(2)} s ${s.state}${s.peak ? ` (peak ${s.peak.toFixed(2)}${s.intensity != null ? `, intensity ${s.intensity.toFixed(2)}` : ""})` : ""} · ${pending} pending`
      : this.mark != null ? `Start marked at ${this.mark.toFixed(2)} s: O adds a laugh up to the playhead` : `No segment selected (n / p, or click a band) · ${pending} pending`;
    for (const op of ["accept", "reject", "start", "split", "merge", "loop", "delete"]) this.buttons[op].disabled = !s;
    this.buttons.end.disabled = !s && this.mark == null;
    this.buttons.merge.disabled = !this.segments[i + 1] || !s;
    this.buttons.loop.classList.toggle("lv-on", this.loop);
  }

  canvasSize(canvas) {
    const dpr = window.devicePixelRatio || 1, w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    return [g, w, h];
  }

  /** One line's visible points as per-pixel maxima (laughs are peaks), NaN (no face) as gaps. */
  path(g, line, w, y0, h, t0, t1, xOf) {
    const times = line.t, probs = line.p;
    let i = Math.max(0, lowerBound(times, t0) - 1);
    const end = Math.min(times.length, lowerBound(times, t1) + 1);
    let px = null, best = null, started = false;
    const flush = () => {
      if (px == null) return;
      if (best == null) { started = false; return; }
      const y = y0 + h - (best / 100) * h;
      if (started) g.lineTo(px, y); else { g.moveTo(px, y); started = true; }
    };
    g.beginPath();
    for (; i < end; i++) {
      const x = Math.round(xOf(times[i], w)), p = probs[i];
      if (x !== px) { flush(); px = x; best = null; }
      if (p != null && (best == null || p > best)) best = p;
      if (p == null) { flush(); px = null; started = false; }
    }
    flush();
    g.stroke();
  }

  /** Paint `canvas` from a copy of what `paint(g, w, h)` drew, drawn again only when `key` (or the
   * size) changes. The curves of a 10-minute video with many people took ~100 ms to draw on a busy
   * 2-core machine, and the playhead moves every frame while playing: redrawing them each frame kept
   * the page's main thread busy, and every key's answer waited behind it. */
  layer(canvas, key, paint) {
    const [g, w, h] = this.canvasSize(canvas);
    // Not laid out yet (0 px): nothing to show, and drawImage of a 0-size canvas throws (seen once on a first start).
    if (!canvas.width || !canvas.height) return [g, w, h];
    let c = this.layers.get(canvas);
    if (!c || c.key !== key || c.img.width !== canvas.width || c.img.height !== canvas.height) {
      const img = c ? c.img : document.createElement("canvas");
      img.width = canvas.width;
      img.height = canvas.height;
      const ig = img.getContext("2d");
      ig.setTransform(canvas.width / w, 0, 0, canvas.height / h, 0, 0);
      ig.clearRect(0, 0, w, h);
      paint(ig, w, h);
      c = { key, img };
      this.layers.set(canvas, c);
    }
    g.save();
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.drawImage(c.img, 0, 0);
    g.restore();
    return [g, w, h];
  }

  draw(t) {
    const { t0, t1 } = this.view;
    const bands = this.segments.map((s) => `${s.start},${s.end},${s.state}`).join(";");
    const [g, w, h] = this.layer(this.lanes, `${t0},${t1},${this.selectedIndex()},${this.version},${bands}`, (lg, lw, lh) => this.drawLanes(lg, lw, lh));
    const xOf = (x) => this.xOf(x, w), axis = 18;
    if (this.mark != null) { g.fillStyle = "#1782c8"; g.fillRect(xOf(this.mark) - 1, 0, 2, h - axis); }
    const x = xOf(t);
    g.fillStyle = "#06c";
    g.fillRect(x - 1, 0, 2, h - axis);
    g.beginPath(); g.moveTo(x - 6, 0); g.lineTo(x + 6, 0); g.lineTo(x, 8); g.fill();
    const [go, wo, ho] = this.layer(this.over, `${t0},${t1},${this.version},${bands}`, (og, ow, oh) => this.drawOverview(og, ow, oh));
    go.fillStyle = "#06c";
    go.fillRect((t / this.duration) * wo - 1, 0, 2, ho);
  }

  /** What does not move with the playhead: bands, curves, thresholds, the time axis. */
  drawLanes(g, w, h) {
    const { t0, t1 } = this.view;
    const xOf = (x) => this.xOf(x, w);
    const axis = 18, laneCount = Math.max(1, this.series.lanes.length), laneH = (h - axis) / laneCount;
    const sel = this.selectedIndex();
    this.segments.forEach((s, i) => {
      if (s.end < t0 || s.start > t1) return;
      const x0 = xOf(s.start), x1 = xOf(s.end);
      g.fillStyle = rgba(s.state, s.state === "rejected" ? 0.15 : 0.3);
      g.fillRect(x0, 0, x1 - x0, h - axis);
      if (i === sel) {
        g.strokeStyle = "#000";
        g.lineWidth = 2;
        g.strokeRect(x0 + 1, 1, x1 - x0 - 2, h - axis - 2);
        g.fillStyle = "#000";
        for (const x of [x0, x1]) g.fillRect(x - 3, (h - axis) / 2 - 10, 6, 20); // edge handles
      }
    });
    this.series.lanes.forEach((lane, li) => {
      const y0 = li * laneH;
      if (li > 0) { g.strokeStyle = "#bbb"; g.lineWidth = 1; g.beginPath(); g.moveTo(0, y0 + 0.5); g.lineTo(w, y0 + 0.5); g.stroke(); }
      g.fillStyle = "#666";
      g.font = "11px sans-serif";
      g.fillText(lane.title, 4, y0 + 11);
      if (lane.threshold != null) {
        const y = y0 + laneH - lane.threshold * laneH;
        g.strokeStyle = "#c00";
        g.setLineDash([5, 4]);
        g.lineWidth = 1;
        g.beginPath(); g.moveTo(0, y); g.lineTo(w, y); g.stroke();
        g.setLineDash([]);
        g.fillStyle = "#c00";
        g.fillText(`threshold ${lane.threshold.toFixed(2)}`, w - 90, y - 3);
      }
      let person = 0;
      for (const line of this.lines.filter((l) => l.lane === li)) {
        const dashed = line.person != null;
        g.strokeStyle = dashed ? PERSON_COLOURS[person++ % PERSON_COLOURS.length] : "#333";
        g.lineWidth = dashed ? 1.2 : 2;
        g.setLineDash(dashed ? [3, 3] : []);
        this.path(g, line, w, y0 + 4, laneH - 8, t0, t1, xOf);
      }
      g.setLineDash([]);
    });
    // time axis
    g.fillStyle = "#444";
    g.strokeStyle = "#999";
    g.lineWidth = 1;
    g.beginPath(); g.moveTo(0, h - axis); g.lineTo(w, h - axis); g.stroke();
    const stepS = niceStep(t1 - t0, w);
    for (let s = Math.ceil(t0 / stepS) * stepS; s <= t1; s += stepS) {
      const x = xOf(s);
      g.fillRect(x, h - axis, 1, 4);
      g.fillText(stepS < 1 ? s.toFixed(1) : clock(s).replace(" s", ""), x + 2, h - 4);
    }
  }

  drawOverview(g, w, h) {
    const xOf = (x) => (x / this.duration) * w;
    for (const s of this.segments) {
      g.fillStyle = rgba(s.state, s.state === "rejected" ? 0.3 : 0.7);
      g.fillRect(xOf(s.start), 0, Math.max(1, xOf(s.end) - xOf(s.start)), h);
    }
    const main = this.lines.find((l) => l.person == null && l.lane === 0);
    if (main) { g.strokeStyle = "#555"; g.lineWidth = 1; this.path(g, main, w, 2, h - 4, 0, this.duration, xOf); }
    g.strokeStyle = "#06c";
    g.lineWidth = 2;
    g.strokeRect(xOf(this.view.t0) + 1, 1, Math.max(3, xOf(this.view.t1) - xOf(this.view.t0) - 2), h - 2);
  }

  destroy() {
    window.removeEventListener("keydown", this.onKey, true);
    window.removeEventListener("pointermove", this.onMove);
    window.removeEventListener("pointerup", this.onUp);
    this.resize.disconnect();
    this.stopReverse();
    this.remember();
    if (activePlayer === this) activePlayer = null;
  }
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let player = parentElement.__laughvid;
  if (!player) {
    player = new Player(parentElement);
    parentElement.__laughvid = player;
  }
  player.update(data, setTriggerValue);
  return () => {
    player.destroy();
    parentElement.__laughvid = null;
  };
}
