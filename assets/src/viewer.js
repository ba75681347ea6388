// GovFlow's read-only instance diagram (流程图): bpmn-js NavigatedViewer with the path taken, the steps
// waiting (holder and deadline), overdue steps in red, and each step's history lines in a side panel.
//
//   GovFlowViewer.showInstance({container, data, onSelect}) -> Promise<{viewer, select}>
//   data = GET /api/instances/{instance_id}/diagram
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import './viewer.css';

const STATE_ZH = { completed: '已完成', active: '办理中', overdue: '已超期' };
const WHEN = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  hour12: false,
});

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function when(iso) {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : WHEN.format(at).replace(/\//g, '-');
}

function legend(onFit) {
  const bar = el('div', 'gf-diagram-bar');
  for (const [cls, label] of [['gf-completed', '已完成'], ['gf-active', '办理中'], ['gf-overdue', '已超期'],
    ['gf-flow', '已走过的连线']]) {
    const key = el('span', 'gf-key');
    key.append(el('span', `gf-swatch ${cls}`), label);
    bar.append(key);
  }
  bar.append(el('span', 'gf-key', '点击环节查看办理记录；滚轮缩放，拖动平移'));
  const fit = el('button', null, '适应窗口');
  fit.type = 'button';
  fit.addEventListener('click', onFit);
  bar.append(fit);
  return bar;
}

function renderPanel(panel, id, name, info) {
  panel.replaceChildren();
  if (!id) {
    panel.append(el('p', 'gf-hint', '点击流程图中的环节，查看该环节的办理记录。'));
    return;
  }
  panel.append(el('h3', null, name || id));
  const state = info ? info.state : 'none';
  panel.append(el('span', `gf-state ${state}`, STATE_ZH[state] || '尚未到达'));
  if (info && info.holder) panel.append(el('div', null, `${state === 'completed' ? '办结人' : '办理人'}：${info.holder}`));
  if (info && info.due_text) panel.append(el('div', state === 'overdue' ? 'gf-overdue-text' : null, `期限：${info.due_text}`));
  const lines = (info && info.history) || [];
  if (!lines.length) {
    panel.append(el('p', 'gf-hint', info ? '该环节没有办理记录。' : '该环节没有已完成或正在办理的记录。'));
    return;
  }
  const list = el('ol', 'gf-history');
  for (const line of lines) {
    const item = el('li');
    item.append(el('div', null, line.text), el('div', 'gf-when', `${line.actor} · ${when(line.at)}`));
    list.append(item);
  }
  panel.append(list);
}

// A wide process fitted into the box is too small to read: show the waiting step at a legible scale
// instead (适应窗口 still shows the whole process).
const MIN_READABLE_SCALE = 0.7;

function focusWaiting(canvas, registry, elements) {
  const box = canvas.viewbox();
  if (box.scale >= MIN_READABLE_SCALE) return;
  const waiting = Object.entries(elements)
    .filter(([id, info]) => info.state !== 'completed' && registry.get(id) && !(registry.get(id).width > 150))
    .map(([id]) => registry.get(id));
  const target = waiting[0];
  if (!target) return;
  const scale = 0.9;
  const width = box.outer.width / scale;
  const height = box.outer.height / scale;
  canvas.viewbox({ x: target.x + target.width / 2 - width / 2, y: target.y + target.height / 2 - height / 2, width, height });
}

async function showInstance({ container, data, onSelect }) {
  container.replaceChildren();
  container.classList.add('gf-diagram');
  const canvasBox = el('div', 'gf-diagram-canvas');
  const panel = el('aside', 'gf-diagram-panel');
  panel.setAttribute('aria-live', 'polite');
  const body = el('div', 'gf-diagram-body');
  body.append(canvasBox, panel);

  const viewer = new NavigatedViewer({ container: canvasBox });
  // Fit with a margin: the fitted box excludes stroke widths and the holder badges above steps.
  const fit = () => {
    const canvas = viewer.get('canvas');
    canvas.zoom('fit-viewport', 'auto');
    const box = canvas.viewbox();
    const pad = 24 / box.scale;
    canvas.viewbox({ x: box.x - pad, y: box.y - 1.5 * pad, width: box.width + 2 * pad, height: box.height + 2.5 * pad });
  };
  const bar = legend(fit);
  const ended = { completed: '流程已办结', cancelled: '流程已撤销' }[data.status];
  if (ended) bar.prepend(el('strong', 'gf-ended', ended));
  container.append(bar, body);
  renderPanel(panel, null);

  await viewer.importXML(data.xml);
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  const overlays = viewer.get('overlays');
  const elements = data.elements || {};

  for (const [id, info] of Object.entries(elements)) {
    const element = registry.get(id);
    if (!element) continue;
    canvas.addMarker(id, `gf-${info.state}`);
    // An expanded subprocess is a frame around steps: outlined, never filled over them.
    if (element.businessObject && element.businessObject.$instanceOf('bpmn:SubProcess') && element.isExpanded !== false
        && element.width > 150) canvas.addMarker(id, 'gf-scope');
    if (info.state !== 'completed' && (info.holder || info.due_text)) {
      const badge = el('div', `gf-badge gf-${info.state}`,
        [info.holder, info.due_text].filter(Boolean).join(' · '));
      overlays.add(id, 'gf-holder', { position: { top: -3, left: -4 }, html: badge, scale: false });
    }
  }
  // Markers colour shapes only; a taken flow gets its own class on its graphics element.
  for (const id of data.flows || []) {
    const gfx = registry.getGraphics(id);
    if (gfx) gfx.classList.add('gf-taken');
  }

  let selected = null;
  function select(id) {
    if (selected && registry.get(selected)) canvas.removeMarker(selected, 'gf-selected');
    const element = id ? registry.get(id) : null;
    selected = element ? id : null;
    if (element) canvas.addMarker(id, 'gf-selected');
    const name = element && element.businessObject ? element.businessObject.name : null;
    renderPanel(panel, selected, name, selected ? elements[selected] : null);
    if (selected && onSelect) onSelect(selected);
  }
  viewer.get('eventBus').on('element.click', (event) => {
    let element = event.element;
    if (element.labelTarget) element = element.labelTarget;
    if (element.waypoints || element === canvas.getRootElement()) return;
    select(element.id);
  });

  const place = () => { fit(); focusWaiting(canvas, registry, elements); };
  place();
  // The page may still change width (a scrollbar appears, the window is resized): place the diagram
  // again until the person zooms or pans it themselves.
  let placedByUs = true;
  for (const type of ['wheel', 'mousedown', 'touchstart']) {
    canvasBox.addEventListener(type, () => { placedByUs = false; }, { passive: true });
  }
  if (window.ResizeObserver) {
    let width = canvasBox.clientWidth;
    new ResizeObserver(() => {
      if (canvasBox.clientWidth === width) return;
      width = canvasBox.clientWidth;
      canvas.resized();
      if (placedByUs) place();
    }).observe(canvasBox);
  }
  container.dataset.rendered = 'true';
  return { viewer, select };
}

// The page partial (templates/_diagram.html) marks its box with data-diagram-url; no inline script, so a
// Content-Security-Policy without 'unsafe-inline' keeps working.
const FAILURE_ZH = {
  401: '登录已过期，请重新登录后查看流程图。',
  403: '您无权查看该流程图。',
  404: '流程图不存在，或您无权查看。',
};

async function load(host) {
  if (host.dataset.loading) return;
  host.dataset.loading = 'true';
  const status = host.querySelector('.gf-status') || host.appendChild(el('p', 'gf-status'));
  status.textContent = '流程图加载中…';
  let data;
  try {
    const response = await fetch(host.dataset.diagramUrl, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (!response.ok) {
      status.textContent = FAILURE_ZH[response.status] || `流程图加载失败（${response.status}），请稍后刷新页面重试。`;
      host.dataset.failed = 'true';
      return;
    }
    data = await response.json();
  } catch (err) {
    status.textContent = '流程图加载失败：无法连接服务器，请检查网络后刷新页面。';
    host.dataset.failed = 'true';
    return;
  }
  try {
    await showInstance({ container: host, data });
  } catch (err) {
    host.replaceChildren(el('p', 'gf-status', '流程图无法显示：流程定义文件无法解析。办理情况见本页的流转记录。'));
    host.dataset.failed = 'true';
  }
}

function autoload() {
  document.querySelectorAll('[data-diagram-url]').forEach((host) => { load(host); });
}

window.GovFlowViewer = { showInstance, load };
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', autoload);
else autoload();
