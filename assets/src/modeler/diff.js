// GovFlowModeler.drawDiff: two versions of a process drawn read-only, the differences in colour.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';
import translateModule from './translate';
import { drawnElement } from './markers';

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function shorten(value, max = 60) {
  const text = value == null || value === '' ? '（空）' : String(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function changeLines(change) {
  return (change.properties || []).map((p) => `${p.label || p.name}：${shorten(p.old)} → ${shorten(p.new)}`);
}

function badge(className, text, lines) {
  const node = el('div', `govflow-diff-badge ${className}`);
  node.appendChild(el('span', 'govflow-diff-badge-text', text));
  if (lines && lines.length) {
    const list = el('ul', 'govflow-diff-details');
    for (const line of lines) list.appendChild(el('li', null, line));
    node.appendChild(list);
    node.title = lines.join('\n');
  }
  return node;
}

async function viewerFor(canvasEl, xml) {
  const viewer = new NavigatedViewer({
    container: canvasEl,
    additionalModules: [translateModule],
    moddleExtensions: { camunda: camundaModdle },
  });
  try {
    await viewer.importXML(xml);
  } catch (err) {
    viewer.destroy();
    throw new Error(`无法显示流程图：${err.message || err}`);
  }
  if (canvasEl.clientWidth && canvasEl.clientHeight) viewer.get('canvas').zoom('fit-viewport', 'auto');
  return viewer;
}

function mark(viewer, id, marker, overlay) {
  if (!drawnElement(viewer.get('elementRegistry'), id)) return false;
  viewer.get('canvas').addMarker(id, marker);
  if (overlay) viewer.get('overlays').add(id, 'govflow-diff', { position: { top: -14, left: -6 }, html: overlay });
  return true;
}

function pane(caption) {
  const node = el('div', 'govflow-diff-pane');
  node.appendChild(el('div', 'govflow-diff-caption', caption));
  const canvas = el('div', 'govflow-diff-canvas');
  node.appendChild(canvas);
  return [node, canvas];
}

/**
 * Draw `xml` with added elements green and changed ones orange (hover: property old → new); when
 * `baseXml` is given and something was removed, the base version is drawn beside it, removed in red.
 * Resolves to {viewer, baseViewer, destroy()}.
 */
export async function drawDiff({ container, xml, baseXml, diff }) {
  const d = { added: [], removed: [], changed: [], ...(diff || {}) };
  container.replaceChildren();
  const root = el('div', 'govflow-diff');
  const legend = el('div', 'govflow-diff-legend');
  for (const [cls, text, n] of [['added', '新增', d.added.length], ['changed', '修改', d.changed.length],
    ['removed', '删除', d.removed.length]]) {
    const item = el('span', `govflow-diff-key govflow-diff-key-${cls}`);
    item.appendChild(el('i'));
    item.appendChild(document.createTextNode(`${text} ${n}`));
    legend.appendChild(item);
  }
  legend.appendChild(el('span', 'govflow-diff-hint', '鼠标移到橙色元素的“修改”标记上可看改动的属性'));
  root.appendChild(legend);
  const panes = el('div', 'govflow-diff-panes');
  root.appendChild(panes);
  const showBase = !!baseXml && d.removed.length > 0;
  const [newPane, newCanvas] = pane(showBase ? '新版本' : '新版本（与原版本比较）');
  panes.appendChild(newPane);
  let basePane = null;
  let baseCanvas = null;
  if (showBase) {
    [basePane, baseCanvas] = pane('原版本（红色为删除的元素）');
    panes.appendChild(basePane);
    panes.classList.add('govflow-diff-two');
  }
  container.appendChild(root);

  const viewer = await viewerFor(newCanvas, xml);
  const offCanvas = []; // changes with nothing to colour (the process itself, or removed without baseXml)
  for (const item of d.added) {
    if (!mark(viewer, item.id, 'govflow-diff-added', badge('govflow-diff-badge-added', '新增'))) offCanvas.push(['新增', item]);
  }
  for (const item of d.changed) {
    const lines = changeLines(item);
    if (!mark(viewer, item.id, 'govflow-diff-changed', badge('govflow-diff-badge-changed', '修改', lines))) {
      offCanvas.push(['修改', item, lines]);
    }
  }
  let baseViewer = null;
  if (showBase) {
    try {
      baseViewer = await viewerFor(baseCanvas, baseXml);
    } catch (err) {
      viewer.destroy();
      throw err;
    }
    for (const item of d.changed) mark(baseViewer, item.id, 'govflow-diff-changed', null);
  }
  for (const item of d.removed) {
    const drawn = baseViewer && mark(baseViewer, item.id, 'govflow-diff-removed', badge('govflow-diff-badge-removed', '删除'));
    if (!drawn) offCanvas.push(['删除', item]);
  }
  if (offCanvas.length) {
    const lines = offCanvas.map(([what, item, details]) => `${what} ${item.name || item.id}${details && details.length ? `（${details.join('；')}）` : ''}`);
    const note = el('span', 'govflow-diff-offcanvas', `另有 ${offCanvas.length} 处改动不在图上：${lines.join('，')}`);
    note.title = lines.join('\n');
    legend.appendChild(note);
  }
  return {
    viewer,
    baseViewer,
    destroy() {
      viewer.destroy();
      if (baseViewer) baseViewer.destroy();
      container.replaceChildren();
    },
  };
}
