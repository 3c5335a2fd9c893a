// Evaluated in the page by tests/e2e/test_screen_sizes.py: what a reader cannot read on screen.
// Returns a list of findings, one string each, "<what>: <text>"; an empty list means all fits.
// Checked: only visible elements of the main area and the sidebar.
() => {
  const found = [];
  const main = document.querySelector('[data-testid=stMain]');
  if (!main) return ['no [data-testid=stMain] on the page'];
  const mainBox = main.getBoundingClientRect();
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== 'hidden'
      && style.display !== 'none' && !el.closest('[aria-hidden=true]');
  };
  const short = (text) => text.replace(/\s+/g, ' ').trim().slice(0, 60);
  const within = (el) => main.contains(el) || el.closest('[data-testid=stSidebar]');

  // A word broken across lines: one word of a text node drawn on two or more lines.
  const brokenWord = (el) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.textContent.matchAll(/[^\s-]+/g)) {
        if (match[0].length < 2) continue;
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
          .map(r => Math.round(r.top / 4)));
        if (tops.size > 1) return match[0];
      }
    }
    return null;
  };
  // Text cut off at the element's edge (scrolling or clipped) or shortened with an ellipsis,
  // or drawn past the edge of a box that clips it (any box up to the main area).
  const clipped = (el) => {
    let left = -Infinity, right = Infinity;
    for (let box = el; box && box !== main.parentElement; box = box.parentElement) {
      if (getComputedStyle(box).overflowX === 'visible') continue;
      const rect = box.getBoundingClientRect();
      left = Math.max(left, rect.left);
      right = Math.min(right, rect.right);
    }
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const r of range.getClientRects())
        if (r.width > 0 && (r.right > right + 1 || r.left < left - 1)) return true;
    }
    return false;
  };
  const cut = (el) => (el.scrollWidth > el.clientWidth + 1
    && getComputedStyle(el).overflowX !== 'visible') || clipped(el);

  const groups = {
    'label': '[data-testid=stWidgetLabel]',
    'metric value': '[data-testid=stMetricValue]',
    'metric label': '[data-testid=stMetricLabel]',
    'selectbox value': '[data-testid=stSelectbox] [data-baseweb=select] div',
    'button': '[data-testid^=stBaseButton]',
    'segmented option': '[data-testid=stButtonGroup] button',
    'radio option': '[data-testid=stRadio] label',
    'page link': '[data-testid=stPageLink] a',
    'card text': '[data-testid=stVerticalBlockBorderWrapper] [data-testid=stMarkdownContainer]',
    'caption': '[data-testid=stCaptionContainer]',
    'tab': '[data-baseweb=tab]',
    'image caption': '[data-testid=stImageCaption]',
    'heading': 'h1, h2, h3',
  };
  for (const [what, selector] of Object.entries(groups)) {
    for (const el of document.querySelectorAll(selector)) {
      if (!within(el) || !visible(el)) continue;
      const text = short(el.innerText || '');
      const word = brokenWord(el);
      if (word) found.push(`${what} breaks the word "${word}": ${text}`);
      else if (text && cut(el)) found.push(`${what} cut off (${el.scrollWidth} px of text in `
        + `${el.clientWidth} px): ${text}`);
      else if (/…$/.test(text) && /value|button|option/.test(what))
        found.push(`${what} shortened to an ellipsis: ${text}`);
    }
  }
  // The network diagram's labels lie inside their figures.
  for (const text of main.querySelectorAll('[aria-label="network diagram"] text')) {
    const figure = text.closest('svg').getBoundingClientRect();
    const box = text.getBoundingClientRect();
    if (box.left < figure.left - 1 || box.right > figure.right + 1)
      found.push(`diagram label cut by its figure: ${text.textContent}`);
  }
  // Values typed or chosen in a box: the box must show all of its value.
  for (const input of main.querySelectorAll('input:not([type=hidden]):not([type=file])')) {
    if (!visible(input)) continue;  // a select box's value is its combobox input's
    if (input.scrollWidth > input.clientWidth + 1)
      found.push(`input value hidden (${input.scrollWidth} px in ${input.clientWidth} px): `
        + `${input.value}`);
  }
  // Nothing sticks out to the right of the main area, and the page does not scroll sideways.
  const block = main.querySelector('[data-testid=stMainBlockContainer]') || main;
  if (block.scrollWidth > block.clientWidth + 1 || main.scrollWidth > main.clientWidth + 1)
    found.push(`the page scrolls sideways: ${Math.max(block.scrollWidth, main.scrollWidth)} px `
      + `wide in ${main.clientWidth} px`);
  for (const el of main.querySelectorAll('[data-testid=stElementContainer]')) {
    if (!visible(el)) continue;
    const box = el.getBoundingClientRect();
    if (box.right > mainBox.right + 1)
      found.push(`element sticks out ${Math.round(box.right - mainBox.right)} px to the right: `
        + short(el.innerText || el.getAttribute('class') || ''));
  }
  // The drawing canvas fits its column (its toolbar and the slider above it stay usable). The
  // canvas component draws inside a shadow root: search those too, and climb out of them.
  const deep = (root, selector, out = []) => {
    out.push(...root.querySelectorAll(selector));
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) deep(el.shadowRoot, selector, out);
    return out;
  };
  const outerClosest = (el, selector) => {
    for (let node = el; node; node = node.getRootNode().host) {
      const found = node.closest(selector);
      if (found) return found;
    }
    return null;
  };
  const canvases = deep(main, 'canvas.upper-canvas');
  if (document.querySelector('.st-key-draw_canvas') && !canvases.length)
    found.push('the drawing canvas was not found (layout_checks.js cannot see it)');
  for (const canvas of canvases) {
    if (!visible(canvas)) continue;
    const column = outerClosest(canvas, '[data-testid=stColumn], [data-testid=stVerticalBlock]');
    const drawn = canvas.getBoundingClientRect().width;
    const width = Math.max(parseFloat(canvas.style.width) || 0, drawn);  // fabric's own size
    const room = column.getBoundingClientRect().width;
    if (width > room + 1 || drawn < width - 1)
      found.push(`the drawing canvas is ${Math.round(width)} px wide (drawn ${Math.round(drawn)}`
        + ` px) in a column of ${Math.round(room)} px`);
  }
  return found;
}
