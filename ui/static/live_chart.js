// CNN Lab's live training view (st.components.v2): polls the job's feed, /cnnlab-live/<id>,
// once a second for the curve points after those it holds, and draws the progress bar and the
// loss and accuracy charts itself (plain SVG, nothing loaded from elsewhere). The page's script
// does not rerun while the job trains: the component asks for one rerun when the feed answers
// 404 ("ended": the job's state is final, its run saved, so the page shows the result), or when
// the feed cannot be reached ("lost", the page then refreshes itself the old way).
const SVG = "http://www.w3.org/2000/svg";
const COLOURS = { batch: "#90caf9", epoch: "#1565c0", validation: "#ef6c00" };
const POLL_MS = 1000;
const HOLLOW = "hollow point";  // a partial epoch's mark, as cnnlab.views.charts.HOLLOW
const FAILURES_BEFORE_LOST = 3;

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (parent) parent.appendChild(node);
  return node;
}

function smooth(values, weight = 0.6) {  // as cnnlab.views.charts.smooth (debiased EMA)
  let last = 0, norm = 0;
  return values.map((v) => {
    last = last * weight + (1 - weight) * v;
    norm = norm * weight + (1 - weight);
    return last / norm;
  });
}

function series(state, metric) {
  const perEpoch = Math.max(state.curveBatches, 1);
  const finite = (p) => p[1] !== null && Number.isFinite(p[1]);
  const raw = state.points.map((p) => [p[0] / perEpoch, p[metric === "loss" ? 1 : 2]]);
  const kept = raw.filter(finite);
  const smoothed = smooth(kept.map((p) => p[1]));
  const batch = kept.map((p, i) => [p[0], smoothed[i]]);
  // as cnnlab.runs.records.epoch_position: a partial epoch at the share of its batches
  const x = (r) => r.complete ? r.epoch
    : r.epoch - 1 + (perEpoch > r.batches ? r.batches / perEpoch : 0.5);
  // [x, value, partial]: a partial epoch (a stopped job's last) is drawn hollow
  const epoch = state.history.map((r) => [x(r), r[metric], !r.complete]).filter(finite);
  const validation = state.history.map((r) => [x(r), r["val_" + metric], !r.complete])
    .filter(finite);
  return { batch, epoch, validation };
}

function chart(svg, metric, state, width, font) {
  svg.replaceChildren();
  const height = 260 + 2 * font;
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("data-metric", metric);
  const left = 4 * font, right = 12, top = 2 * font, bottom = 3 * font;
  const w = Math.max(width - left - right, 40), h = height - top - bottom;
  const lines = series(state, metric);
  const all = [...lines.batch, ...lines.epoch, ...lines.validation].map((p) => p[1]);
  const yMax = metric === "accuracy" ? 1 : Math.max(1e-6, ...all) * 1.05;
  const xMax = Math.max(state.epochs, 1);
  const sx = (v) => left + (v / xMax) * w, sy = (v) => top + h - (v / yMax) * h;
  const text = { "font-size": font, "font-family": "sans-serif", fill: "#31333f" };
  el("text", { ...text, x: left, y: font, "font-weight": "bold" }, svg).textContent =
    state.name ? `${metric} of ${state.name}` : metric;
  if (state.partial) {  // what the hollow point is, under the title (as the results' charts)
    el("text", { ...text, x: left + w, y: 2 * font - 2, "text-anchor": "end",
                 "font-size": Math.round(font * 0.85), class: "live-partial" }, svg)
      .textContent = `${HOLLOW} — ${state.partial}`;
  }
  const axis = { stroke: "#888", "stroke-width": 1 };
  el("line", { ...axis, x1: left, y1: top + h, x2: left + w, y2: top + h }, svg);
  el("line", { ...axis, x1: left, y1: top, x2: left, y2: top + h }, svg);
  const xStep = Math.max(1, Math.ceil(xMax / 10));
  for (let e = 0; e <= xMax; e += xStep) {  // one tick per epoch (fewer for many epochs)
    el("line", { ...axis, x1: sx(e), y1: top + h, x2: sx(e), y2: top + h + 5 }, svg);
    el("line", { x1: sx(e), y1: top, x2: sx(e), y2: top + h, stroke: "#eee" }, svg);
    el("text", { ...text, x: sx(e), y: top + h + font + 6, "text-anchor": "middle" }, svg)
      .textContent = String(e);
  }
  el("text", { ...text, x: left + w / 2, y: height - 2, "text-anchor": "middle" }, svg)
    .textContent = "epoch";
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    el("line", { x1: left, y1: sy(v), x2: left + w, y2: sy(v), stroke: "#eee" }, svg);
    el("text", { ...text, x: left - 4, y: sy(v) + font / 3, "text-anchor": "end" }, svg)
      .textContent = v.toFixed(metric === "accuracy" ? 2 : yMax < 1 ? 2 : 1);
  }
  const path = (points, colour, dash, name) => {
    if (!points.length) return;
    const d = points.map((p, i) => (i ? "L" : "M") + sx(p[0]).toFixed(1) + " " +
      sy(p[1]).toFixed(1)).join(" ");
    el("path", { d, fill: "none", stroke: colour, "stroke-width": 1.5,
                 "stroke-dasharray": dash, "data-series": name }, svg);
  };
  path(lines.batch, COLOURS.batch, "none", "batch");
  path(lines.epoch, COLOURS.epoch, "none", "epoch");
  path(lines.validation, COLOURS.validation, "6 4", "validation");
  for (const [points, colour] of [[lines.epoch, COLOURS.epoch],
                                  [lines.validation, COLOURS.validation]]) {
    for (const p of points) {
      el("circle", p[2] ? { cx: sx(p[0]), cy: sy(p[1]), r: 5, fill: "white", stroke: colour,
                            "stroke-width": 2, "data-partial": "true" }
                        : { cx: sx(p[0]), cy: sy(p[1]), r: 4, fill: colour }, svg);
    }
  }
}

function draw(state) {
  const root = state.root;
  const width = Math.max(root.clientWidth, 300);
  root.querySelector(".live-text").textContent = state.text;
  root.querySelector(".live-fill").style.width = (100 * state.fraction).toFixed(1) + "%";
  root.dataset.points = String(state.points.length);
  root.dataset.state = state.jobState;
  const charts = root.querySelector(".live-charts");
  charts.style.display = state.points.length || state.history.length ? "flex" : "none";
  const each = Math.floor((width - 16) / 2);
  chart(state.svgs[0], "loss", state, each, state.font);
  chart(state.svgs[1], "accuracy", state, each, state.font);
}

function apply(state, body) {
  if (body.reset) state.points = [];
  state.points = state.points.slice(0, body.start).concat(body.points);
  state.perPoint = body.per_point;
  state.curveBatches = body.curve_batches_per_epoch;
  state.history = body.history;
  state.partial = body.partial || null;
  state.epochs = body.epochs || state.epochs;
  state.text = body.text;
  state.jobState = body.state;
  state.fraction = body.fraction;
}

async function poll(state) {
  if (state.stopped) return;
  if (!document.hidden) {
    try {
      const url = `${state.url}?after=${state.points.length}&per=${state.perPoint}`;
      const response = await fetch(url, { cache: "no-store", credentials: "same-origin" });
      if (response.status === 404) return state.ended();  // final: the run is saved
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = await response.json();
      state.failures = 0;
      apply(state, body);
      draw(state);
    } catch (error) {
      state.failures += 1;
      if (state.failures >= FAILURES_BEFORE_LOST) return state.lost(String(error));
    }
  }
  if (!state.stopped) state.timer = setTimeout(() => poll(state), POLL_MS);
}

function build(parentElement) {
  const root = document.createElement("div");
  root.className = "cnnlab-live";
  root.innerHTML = `<div class="live-text" style="font: 14px sans-serif; margin-bottom: 6px">
    </div><div class="live-bar" style="height: 8px; background: #e6e9ef; border-radius: 4px">
    <div class="live-fill" style="height: 8px; width: 0; background: #ff4b4b;
    border-radius: 4px"></div></div>
    <div class="live-charts" style="display: flex; gap: 16px; margin-top: 12px"></div>`;
  parentElement.replaceChildren(root);
  const charts = root.querySelector(".live-charts");
  const svgs = [el("svg", {}, charts), el("svg", {}, charts)];
  return { root, svgs };
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let state = parentElement.__cnnlabLive;
  if (!state || state.url !== data.url) {
    if (state) state.stopped = true;
    state = { url: data.url, points: [], perPoint: 1, curveBatches: 1, history: [],
              epochs: data.epochs, text: data.text, name: data.name, partial: null,
              jobState: "", fraction: 0, failures: 0 };
    parentElement.__cnnlabLive = state;
  }
  Object.assign(state, build(parentElement), { font: data.font, stopped: false });
  state.ended = () => { state.stopped = true; setTriggerValue("ended", true); };
  state.lost = (why) => { state.stopped = true; setTriggerValue("lost", why); };
  clearTimeout(state.timer);
  draw(state);
  poll(state);
  return () => { state.stopped = true; clearTimeout(state.timer); };
}
