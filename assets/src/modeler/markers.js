// Problem markers and system-bound badges on the canvas (overlays + marker classes).

const PROBLEM = 'govflow-problem';
const BOUND = 'govflow-system-bound';

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text; // never innerHTML: messages may quote user input
  return node;
}

/**
 * Return the shape or connection drawn for a BPMN id, or null: the process itself (a canvas root,
 * e.g. a problem with the process's name) has nothing to carry a badge; the page lists it.
 */
export function drawnElement(elementRegistry, id) {
  const element = id ? elementRegistry.get(id) : null;
  if (!element || (element.waypoints === undefined && element.x === undefined)) return null;
  return element;
}

/** Group problems by element id, keeping only the ids drawn on some canvas plane. */
function byElement(problems, elementRegistry) {
  const grouped = new Map();
  for (const problem of problems || []) {
    const id = problem && problem.element_id;
    if (!drawnElement(elementRegistry, id)) continue;
    if (!grouped.has(id)) grouped.set(id, []);
    grouped.get(id).push(String(problem.message || ''));
  }
  return grouped;
}

export class Markers {
  constructor(viewer) {
    this._canvas = viewer.get('canvas');
    this._overlays = viewer.get('overlays');
    this._registry = viewer.get('elementRegistry');
    this._problems = [];
    this._bound = [];
    this._marked = { [PROBLEM]: new Set(), [BOUND]: new Set() };
  }

  _clear(marker) {
    this._overlays.remove({ type: marker });
    for (const id of this._marked[marker]) {
      if (this._registry.get(id)) this._canvas.removeMarker(id, marker);
    }
    this._marked[marker].clear();
  }

  showProblems(problems) {
    this._problems = Array.isArray(problems) ? problems : [];
    this._clear(PROBLEM);
    for (const [id, messages] of byElement(this._problems, this._registry)) {
      this._canvas.addMarker(id, PROBLEM);
      this._marked[PROBLEM].add(id);
      const badge = el('div', 'govflow-problem-badge');
      badge.setAttribute('data-element-id', id);
      badge.appendChild(el('span', 'govflow-problem-count', messages.length > 1 ? `问题 ${messages.length}` : '问题'));
      const list = el('ul', 'govflow-problem-messages');
      for (const message of messages) list.appendChild(el('li', null, message));
      badge.appendChild(list);
      badge.title = messages.join('\n');
      this._overlays.add(id, PROBLEM, { position: { top: -14, left: -6 }, html: badge });
    }
  }

  markSystemBound(list) {
    this._bound = Array.isArray(list) ? list : [];
    this._clear(BOUND);
    const reasons = new Map();
    for (const item of this._bound) {
      const id = item && item.element_id;
      if (!drawnElement(this._registry, id)) continue;
      reasons.set(id, [...(reasons.get(id) || []), String(item.reason || '')]);
    }
    for (const [id, texts] of reasons) {
      this._canvas.addMarker(id, BOUND);
      this._marked[BOUND].add(id);
      const badge = el('div', 'govflow-bound-badge', '系统绑定');
      badge.setAttribute('data-element-id', id);
      badge.title = texts.filter(Boolean).join('\n') || '程序代码使用此元素，不能删除或改名';
      this._overlays.add(id, BOUND, { position: { bottom: 2, left: -6 }, html: badge });
    }
  }

  /** Draw the last problems and bindings again (after an import cleared the canvas). */
  reapply() {
    this._marked[PROBLEM].clear();
    this._marked[BOUND].clear();
    this.showProblems(this._problems);
    this.markSystemBound(this._bound);
  }
}
