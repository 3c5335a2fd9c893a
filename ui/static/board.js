// CNN Lab's class board on the projector (st.components.v2): one row per student, best score
// first, and the validation curves of the students the teacher ticks. It polls the class's
// board route, /cnnlab-board/<code>?since=<version>, once a second, with the teacher key in a
// header; the route answers "unchanged" until a student's files change (a join, an activity,
// a scored run), then the whole board. The page's script does not rerun for it. Names and
// every other text from students are set with textContent, never as HTML. Clicking a name
// puts that student in the spotlight (the one thing that reruns the page's script).
const SVG = "http://www.w3.org/2000/svg";
const POLL_MS = 1000;
const PALETTE = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#ad1457",
                 "#4e342e", "#283593", "#558b2f"];
const DEFAULT_PICKS = 3;  // the best three's curves, until the teacher ticks others

function node(tag, attrs = {}, parent = null, text = null) {
  const made = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) made.setAttribute(key, String(value));
  if (text !== null) made.textContent = text;
  if (parent) parent.appendChild(made);
  return made;
}

function svgNode(tag, attrs, parent) {
  const made = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) made.setAttribute(key, String(value));
  if (parent) parent.appendChild(made);
  return made;
}

function percent(score) {
  return (100 * score).toFixed(2) + "%";
}

function summary(board) {
  const rows = board.rows;
  const scored = rows.filter((r) => r.score !== null).length;
  const training = rows.filter((r) => r.activity.startsWith("training")).length;
  return `${rows.length} student${rows.length === 1 ? "" : "s"} · ${scored} scored · ` +
    `${training} training now · ${board.open ? "joins open" : "closed to new students"}`;
}

function drawTable(state) {
  const board = state.board;
  const table = node("table", { class: "board-table" });
  node("caption", {}, table, "Students, best score first (scores on the held-back images)");
  const head = node("tr", {}, node("thead", {}, table));
  for (const title of ["#", "student", "doing now", "best run (network)", "params",
                       "epochs", "score", "curve"]) {
    node("th", { scope: "col" }, head, title);
  }
  const body = node("tbody", {}, table);
  board.rows.forEach((row) => {
    const tr = node("tr", { class: "board-row", "data-student": row.id,
                            "data-rank": row.rank === null ? "" : row.rank }, body);
    if (row.id === state.spot) tr.classList.add("spotlit");
    node("td", { class: "rank" }, tr, row.rank === null ? "–" : String(row.rank));
    const who = node("td", { class: "name" }, tr);
    const button = node("button", { type: "button", class: "spot",
                                    title: "open this student's network in the spotlight" },
                        who, row.name);
    button.addEventListener("click", () => state.setSpot(row.id));
    node("td", { class: "activity" }, tr, row.activity);
    const run = row.run === null ? "no run yet" :
      `${row.run} (${row.architecture === null ? "?" : row.architecture})`;
    node("td", { class: "run" }, tr, run);
    node("td", { class: "params num" }, tr,
         row.params === null ? "" : row.params.toLocaleString("en-US"));
    node("td", { class: "epochs num" }, tr, row.epochs === null ? "" : String(row.epochs));
    const score = node("td", { class: "score" }, tr);
    if (row.score !== null) {
      score.textContent = percent(row.score);
    } else if (row.reason) {
      node("span", { class: "reason" }, score, "not scored: " + row.reason);
    }
    const pick = node("td", { class: "pick" }, tr);
    const box = node("input", { type: "checkbox", "aria-label": `show ${row.name}'s curve` },
                     pick);
    box.checked = state.picked.has(row.id);
    box.disabled = !(state.board.curves[row.id] || []).some((v) => v !== null);
    box.addEventListener("change", () => {
      if (box.checked) state.picked.add(row.id); else state.picked.delete(row.id);
      state.touched = true;
      drawCurves(state);
    });
  });
  return table;
}

function drawCurves(state) {
  const holder = state.curves;
  holder.replaceChildren();
  const board = state.board;
  const names = Object.fromEntries(board.rows.map((r) => [r.id, r.name]));
  const lines = [...state.picked].filter((id) => id in names)
    .map((id) => [id, (board.curves[id] || []).map((v, i) => [i + 1, v])
      .filter((p) => p[1] !== null)])
    .filter(([, points]) => points.length);
  if (!lines.length) {
    node("p", { class: "note" }, holder, "Tick students to overlay their validation " +
         "accuracy by epoch (a run trained with a validation share above 0 has one).");
    return;
  }
  const font = state.font;
  const width = Math.max(state.root.clientWidth, 320), height = 220 + 3 * font;
  const left = 4 * font, right = 16, top = font, bottom = 3 * font;
  const w = width - left - right, h = height - top - bottom;
  const epochs = Math.max(1, ...lines.map(([, points]) => points.length));
  const svg = svgNode("svg", { width, height, role: "img", class: "curves",
                               "aria-label": "validation accuracy by epoch of " +
                               lines.map(([id]) => names[id]).join(", ") }, holder);
  const sx = (e) => left + (epochs === 1 ? w / 2 : ((e - 1) / (epochs - 1)) * w);
  const sy = (v) => top + h - v * h;
  const text = { "font-size": font, "font-family": "sans-serif", fill: "#111111" };
  for (let i = 0; i <= 4; i++) {
    const v = i / 4;
    svgNode("line", { x1: left, x2: left + w, y1: sy(v), y2: sy(v), stroke: "#e0e0e0" }, svg);
    svgNode("text", { ...text, x: left - 6, y: sy(v) + font / 3, "text-anchor": "end" }, svg)
      .textContent = v.toFixed(2);
  }
  for (let e = 1; e <= epochs; e++) {
    svgNode("text", { ...text, x: sx(e), y: top + h + font + 4, "text-anchor": "middle" }, svg)
      .textContent = String(e);
  }
  svgNode("text", { ...text, x: left + w / 2, y: height - 4, "text-anchor": "middle" }, svg)
    .textContent = "epoch (validation accuracy)";
  const legend = node("div", { class: "legend" }, holder);
  lines.forEach(([id, points], i) => {
    const colour = PALETTE[i % PALETTE.length];
    const d = points.map((p, j) => (j ? "L" : "M") + sx(p[0]).toFixed(1) + " " +
      sy(p[1]).toFixed(1)).join(" ");
    svgNode("path", { d, fill: "none", stroke: colour, "stroke-width": 2.5,
                      "data-student": id }, svg);
    for (const p of points) svgNode("circle", { cx: sx(p[0]), cy: sy(p[1]), r: 4,
                                                fill: colour }, svg);
    const item = node("span", { class: "item" }, legend);
    node("span", { class: "swatch", style: `background:${colour}` }, item);
    node("span", {}, item, names[id]);
  });
}

function defaultPicks(state) {
  if (state.touched) return;
  const withCurves = state.board.rows.filter((r) =>
    (state.board.curves[r.id] || []).some((v) => v !== null));
  state.picked = new Set(withCurves.slice(0, DEFAULT_PICKS).map((r) => r.id));
}

function draw(state) {
  const began = performance.now();
  const root = state.root;
  root.style.setProperty("--font", state.font + "px");
  root.dataset.version = state.board.version;
  root.dataset.rows = String(state.board.rows.length);
  state.summary.textContent = summary(state.board);
  state.challenge.textContent = state.board.challenge ?
    "Challenge: " + state.board.challenge : "No challenge set yet: runs are listed, not scored.";
  defaultPicks(state);
  state.table.replaceChildren(drawTable(state));
  drawCurves(state);
  root.dataset.drawMs = (performance.now() - began).toFixed(1);  // read by the bench
}

async function poll(state) {
  if (state.stopped) return;
  if (!document.hidden) {
    try {
      const response = await fetch(`${state.url}?since=${state.board.version}`, {
        cache: "no-store", credentials: "same-origin", headers: { "X-CNNLab-Key": state.key } });
      const body = await response.json();
      if (response.status === 404) {  // the class was deleted, or the key no longer opens it
        state.stopped = true;
        state.status.textContent = body.error;
        return;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      state.status.textContent = "";
      if (!body.unchanged) {
        state.board = body;
        draw(state);
      }
    } catch (error) {
      state.status.textContent = "The board cannot reach the server; it tries again every " +
        "second.";
    }
  }
  if (!state.stopped) state.timer = setTimeout(() => poll(state), POLL_MS);
}

const STYLE = `
.cnnlab-board { font: var(--font) sans-serif; color: #111111; }
.cnnlab-board .summary { font-weight: bold; margin: 0 0 4px 0; }
.cnnlab-board .challenge, .cnnlab-board .note { margin: 0 0 8px 0; }
.cnnlab-board .status { color: #a82c3a; }
.cnnlab-board table { border-collapse: collapse; width: 100%; }
.cnnlab-board caption { text-align: left; font-style: italic; padding-bottom: 4px; }
.cnnlab-board th, .cnnlab-board td { border-bottom: 1px solid #d0d0d0; padding: 4px 6px;
  text-align: left; vertical-align: top; overflow-wrap: anywhere; }
.cnnlab-board th { border-bottom: 2px solid #111111; overflow-wrap: normal; }
.cnnlab-board td.num { text-align: right; white-space: nowrap; }
.cnnlab-board td.score { font-weight: bold; white-space: nowrap; }
.cnnlab-board td.score .reason { font-weight: normal; color: #a82c3a; white-space: normal; }
.cnnlab-board tr.spotlit { background: #fff3c4; }
.cnnlab-board button.spot { font: inherit; color: #0b4f9c; background: none; border: none;
  padding: 0; text-decoration: underline; cursor: pointer; text-align: left; }
.cnnlab-board input[type=checkbox] { width: calc(var(--font) * 1.1);
  height: calc(var(--font) * 1.1); }
.cnnlab-board .legend { display: flex; flex-wrap: wrap; gap: 4px 16px; }
.cnnlab-board .legend .swatch { display: inline-block; width: 1.4em; height: 0.5em;
  margin-right: 6px; vertical-align: middle; }
`;

function build(parentElement) {
  const root = document.createElement("div");
  root.className = "cnnlab-board";
  const style = document.createElement("style");
  style.textContent = STYLE;
  const summaryLine = node("p", { class: "summary", "aria-live": "polite" }, root);
  const challenge = node("p", { class: "challenge" }, root);
  const status = node("p", { class: "status", role: "status" }, root);
  const table = node("div", { class: "table" }, root);
  const curves = node("div", { class: "curves-box" }, root);
  parentElement.replaceChildren(style, root);
  return { root, summary: summaryLine, challenge, status, table, curves };
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let state = parentElement.__cnnlabBoard;
  if (!state || state.url !== data.url) {
    if (state) state.stopped = true;
    state = { url: data.url, key: data.key, board: data.board, picked: new Set(),
              touched: false };
    parentElement.__cnnlabBoard = state;
  } else if (data.board.version !== state.board.version) {
    state.board = data.board;  // a rerun brought a newer board (or the fragment's refresh)
  }
  Object.assign(state, build(parentElement), { font: data.font, spot: data.spotlight,
                                               stopped: false });
  state.setSpot = (id) => setStateValue("spotlight", id);
  clearTimeout(state.timer);
  draw(state);
  if (data.poll) poll(state);
  return () => { state.stopped = true; clearTimeout(state.timer); };
}
