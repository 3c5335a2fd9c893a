// Evaluated on one Altair chart ([data-testid=stVegaLiteChart]) by tests/e2e/test_screen_sizes.py
// with [class names, how many axes name the classes]: what a reader cannot read of the class
// labels. Streamlit draws a chart as SVG (Vega's canvas renderer only for thousands of marks),
// so every axis label is a <text> (a label of several lines has a <tspan> per line).
// Returns a list of findings, one string each; an empty list means every class is labelled.
(chart, [names, axesWanted]) => {
  const found = [];
  const squash = (text) => text.replace(/\s+/g, '');
  const wanted = names.map(squash);
  const svg = chart.querySelector('svg');
  if (!svg) return ['the chart is not drawn as SVG'];
  const box = chart.getBoundingClientRect();
  const axes = [...svg.querySelectorAll('.role-axis')]
    .map(axis => [...axis.querySelectorAll('.role-axis-label text')]);
  // An axis of classes: as many labels as classes, each one of them (Vega keeps a label it
  // hides for overlapping in the page, at opacity 0: presence alone says nothing).
  const classAxes = axes.filter(labels => labels.length === names.length
    && labels.every(text => wanted.includes(squash(text.textContent))));
  if (classAxes.length < axesWanted)
    return [`${classAxes.length} of ${axesWanted} axes name every class; the axes show: `
      + axes.map(labels => labels.map(t => t.textContent).join('|')).join(' / ')];
  for (const labels of classAxes) {
    const rects = labels.map(text => text.getBoundingClientRect());
    labels.forEach((text, i) => {
      const rect = rects[i], name = text.textContent;
      const style = getComputedStyle(text);
      if (Number(text.getAttribute('opacity') ?? 1) === 0 || Number(style.opacity) === 0
          || style.visibility === 'hidden' || rect.width === 0)
        found.push(`label hidden: ${name}`);
      if (/…$/.test(name)) found.push(`label cut short: ${name}`);
      if (rect.left < box.left - 1 || rect.right > box.right + 1 || rect.top < box.top - 1
          || rect.bottom > box.bottom + 1)
        found.push(`label outside the chart (${Math.round(rect.left)}..${Math.round(rect.right)}`
          + ` in ${Math.round(box.left)}..${Math.round(box.right)}): ${name}`);
      for (let j = 0; j < i; j++) {
        const other = rects[j];
        const across = Math.min(rect.right, other.right) - Math.max(rect.left, other.left);
        const down = Math.min(rect.bottom, other.bottom) - Math.max(rect.top, other.top);
        if (across > 1 && down > 1)
          found.push(`labels overlap: ${labels[j].textContent} and ${name}`);
      }
    });
  }
  return found;
}
