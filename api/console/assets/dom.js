// @ts-check
/**
 * Every element is built with DOM APIs and every value set as text: a template name, a parameter, a
 * party id or a result cell is never parsed as HTML.
 */
const SVG = 'http://www.w3.org/2000/svg';

/**
 * @param {string} tag
 * @param {Record<string, string>} [attributes]
 * @param {(Node | string)[]} [children]
 */
export function el(tag, attributes = {}, children = []) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children)
    element.append(typeof child === 'string' ? document.createTextNode(child) : child);
  return element;
}

/** @param {string} tag @param {Record<string, string | number>} attributes */
export function svg(tag, attributes = {}) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

/** @param {Element} element @param {(Node | string)[]} children */
export function replace(element, ...children) {
  element.replaceChildren(...children);
}

/**
 * A table of rows; cells shown as text, null as an empty cell.
 * @param {string[]} columns @param {(string | number | boolean | null)[][]} rows
 */
export function table(columns, rows) {
  const head = el(
    'tr',
    {},
    columns.map((c) => el('th', { scope: 'col' }, [c])),
  );
  const body = rows.map((row) =>
    el(
      'tr',
      {},
      row.map((cell) => el('td', {}, [cell === null ? '' : String(cell)])),
    ),
  );
  return el('table', {}, [el('thead', {}, [head]), el('tbody', {}, body)]);
}

/** A message in a status region (errors in role=alert, read out by screen readers). @param {string} text */
export const message = (text, kind = 'info') =>
  el('p', { class: `message ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, [text]);

/**
 * A horizontal bar chart with error bars (± the noise's standard deviation), built with SVG elements.
 * @param {{ label: string, value: number, error: number }[]} bars @param {string} title
 */
export function barChart(bars, title) {
  const rowHeight = 18;
  const labelWidth = 140;
  const width = 520;
  const max = Math.max(1, ...bars.map((b) => b.value + b.error));
  const scale = (/** @type {number} */ v) => labelWidth + (Math.max(0, v) / max) * (width - labelWidth - 10);
  const chart = svg('svg', {
    width,
    height: bars.length * rowHeight + 10,
    role: 'img',
    'aria-label': title,
    class: 'chart',
  });
  const caption = svg('title');
  caption.textContent = title;
  chart.append(caption);
  bars.forEach((bar, i) => {
    const y = i * rowHeight + 5;
    const label = svg('text', { x: 0, y: y + 12, class: 'chart-label' });
    label.textContent = bar.label;
    const rect = svg('rect', {
      x: labelWidth,
      y,
      width: scale(bar.value) - labelWidth,
      height: rowHeight - 4,
      class: 'bar',
    });
    const mid = y + (rowHeight - 4) / 2;
    const whisker = svg('line', {
      x1: scale(bar.value - bar.error),
      x2: scale(bar.value + bar.error),
      y1: mid,
      y2: mid,
      class: 'error-bar',
    });
    chart.append(label, rect, whisker);
  });
  return chart;
}

/** Offers bytes as a file download, from this page's memory (nothing is sent). @param {Blob} blob @param {string} name */
export function downloadBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  el('a', { href: url, download: name }).click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
