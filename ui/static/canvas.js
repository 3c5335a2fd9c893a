// CNN Lab's drawing canvas (st.components.v2), for the Draw and My classes pages: white ink on
// black, drawn with a mouse, a pen or a finger; its buttons undo a stroke, clear, and (on My
// classes) add the drawing to a class. What the Python side gets is what the canvas shows:
//
// - "drawing" (a state, when data.report): {png, strokes}, sent the moment the pen lifts (and
//   after undo or clear), the PNG made from the very strokes on screen. No debounce: the
//   prediction does not wait for one.
// - "add" (a trigger): {items: [{id, png, target}]}. The Add button takes the PNG of the canvas
//   as it shows at the click and clears the canvas here, at once, so a stroke begun right after
//   stays on the next drawing. Every item is sent again with each trigger until the page lists
//   its id in data.applied: a trigger that a newer one replaces before a script run reads it
//   (Streamlit keeps only the newest) loses nothing, and the page adds each id once.
//
// data: side (px), pen (width of new strokes), initial (strokes drawn when the element is
// created: the drawing kept for the session), report, add ({label, target} or null),
// applied (ids). A stroke is [width, x0, y0, x1, y1, ...] in canvas pixels.

const INSTANCES = new WeakMap();  // one canvas per mounted element, kept across reruns

function paint(ctx, side, strokes) {
  ctx.fillStyle = "#000000";
  ctx.fillRect(0, 0, side, side);
  ctx.strokeStyle = "#ffffff";
  ctx.fillStyle = "#ffffff";
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const stroke of strokes) {
    const width = stroke[0], n = (stroke.length - 1) / 2;
    const x = (i) => stroke[1 + 2 * i], y = (i) => stroke[2 + 2 * i];
    if (n === 1) {  // a tap: a dot as wide as the pen
      ctx.beginPath();
      ctx.arc(x(0), y(0), width / 2, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.moveTo(x(0), y(0));
    for (let i = 1; i < n - 1; i++) {  // through the midpoints: a smooth line
      ctx.quadraticCurveTo(x(i), y(i), (x(i) + x(i + 1)) / 2, (y(i) + y(i + 1)) / 2);
    }
    ctx.lineTo(x(n - 1), y(n - 1));
    ctx.stroke();
  }
}

function button(label, className) {
  const node = document.createElement("button");
  node.type = "button";
  node.className = className;
  node.textContent = label;
  return node;
}

function newId() {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

function create(parent, data) {
  const root = document.createElement("div");
  root.className = "cnnlab-canvas";
  const surface = document.createElement("canvas");
  // "upper-canvas": the class the browser tests and benchmarks find the drawing surface by
  surface.className = "surface upper-canvas";
  surface.width = surface.height = data.side;
  surface.style.width = surface.style.height = `${data.side}px`;
  surface.setAttribute("role", "img");
  surface.setAttribute("aria-label", "drawing area: draw with the mouse, a pen or a finger");
  const bar = document.createElement("div");
  bar.className = "bar";
  const undo = button("Undo stroke", "tool");
  const clear = button("Clear", "tool");
  const add = button("", "add");
  bar.append(undo, clear, add);
  root.append(surface, bar);
  parent.appendChild(root);

  const me = {
    data, strokes: (data.initial || []).map((s) => s.slice()), live: null, pending: [],
    setStateValue: () => {}, setTriggerValue: () => {},
  };
  const ctx = surface.getContext("2d");
  const redraw = () => paint(ctx, data.side, me.live ? [...me.strokes, me.live] : me.strokes);
  const png = () => surface.toDataURL("image/png");
  const buttons = () => {
    undo.disabled = clear.disabled = me.strokes.length === 0;
    add.hidden = !me.data.add;
    add.disabled = me.strokes.length === 0;
    if (me.data.add) add.textContent = me.data.add.label;
  };
  const changed = () => {
    redraw();
    buttons();
    if (me.data.report) {
      me.setStateValue("drawing", { png: me.strokes.length ? png() : null,
                                    strokes: me.strokes });
    }
  };
  const point = (event) => {
    const box = surface.getBoundingClientRect();
    const scale = data.side / box.width;
    // at most one side beyond the canvas, as the page accepts (the pen is captured: it may
    // leave the canvas and come back); a tenth of a pixel is fine enough
    const at = (v) => Math.round(Math.min(Math.max(v * scale, -data.side), 2 * data.side) * 10)
      / 10;
    return [at(event.clientX - box.left), at(event.clientY - box.top)];
  };
  surface.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || me.live) return;
    surface.setPointerCapture(event.pointerId);
    me.live = [me.data.pen, ...point(event)];
    redraw();
  });
  surface.addEventListener("pointermove", (event) => {
    if (!me.live) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const each of events.length ? events : [event]) {
      const [x, y] = point(each), n = me.live.length;
      if (Math.hypot(x - me.live[n - 2], y - me.live[n - 1]) >= 1) me.live.push(x, y);
    }
    redraw();
  });
  const lift = () => {
    if (!me.live) return;
    me.strokes.push(me.live);
    me.live = null;
    changed();
  };
  surface.addEventListener("pointerup", lift);
  surface.addEventListener("pointercancel", lift);
  undo.addEventListener("click", () => { me.strokes.pop(); changed(); });
  clear.addEventListener("click", () => { me.strokes = []; changed(); });
  add.addEventListener("click", () => {
    if (!me.data.add || me.strokes.length === 0) return;
    me.pending.push({ id: newId(), png: png(), target: me.data.add.target });
    me.setTriggerValue("add", { items: me.pending.slice() });
    me.strokes = [];
    changed();
  });
  me.update = (next, setStateValue, setTriggerValue) => {
    me.data = next;
    me.setStateValue = setStateValue;
    me.setTriggerValue = setTriggerValue;
    const applied = new Set(next.applied || []);
    me.pending = me.pending.filter((item) => !applied.has(item.id));
    buttons();
  };
  redraw();
  return me;
}

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  let canvas = INSTANCES.get(parentElement);
  if (!canvas) {
    canvas = create(parentElement, data);
    INSTANCES.set(parentElement, canvas);
  }
  canvas.update(data, setStateValue, setTriggerValue);
  // Nothing to clean up: the listeners belong to the element's own nodes. (A cleanup returned
  // here would also run when a newer rerun's data supersedes this call.)
}
