/**
 * GovFlow's BPMN modeler bundle (static/vendor/govflow-modeler.{js,css}; built by `make assets`).
 *
 *   const editor = GovFlowModeler.create({container, propertiesPanel, vocabulary});
 *     container, propertiesPanel: DOM elements (or CSS selectors) for the canvas and the panel;
 *     vocabulary: GET /api/designer/vocabulary ({roles, limits, form_types, ...}).
 *   await editor.open(xml);           import; rejects with an Error whose message is Chinese
 *   const xml = await editor.save();  the XML, formatted
 *   editor.showProblems(problems);    [{element_id, message}]: red marker + badge listing the messages;
 *                                     replaces the previous ones; problems without a drawn element are skipped
 *   editor.markSystemBound(list);     [{element_id, reason}]: badge 系统绑定, reason on hover
 *   const off = editor.onChange(cb);  cb() after every command-stack change (edit, undo, redo); off() unsubscribes
 *   editor.selectElement(id);         show (entering its sub-process if needed), scroll to and select it
 *   editor.modeler                    the bpmn-js Modeler (tests, advanced use); editor.destroy()
 *
 *   const view = await GovFlowModeler.drawDiff({container, xml, baseXml, diff});
 *     read-only: added green, changed orange (hover: property old → new), removed drawn red in a
 *     second viewer of baseXml beside it; view.destroy().
 *
 * The panel: Camunda 7 properties, minus the groups for features our engine refuses, plus our own
 * 办理设置 (deadline, candidate roles, condition, script) and 表单字段 groups: see modeler/.
 */
import BpmnModeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule,
} from 'bpmn-js-properties-panel';
import CamundaBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';
import translateModule, { untranslated } from './modeler/translate';
import GovFlowPropertiesProvider from './modeler/GovFlowPropertiesProvider.jsx';
import { Markers, drawnElement } from './modeler/markers';
import { drawDiff } from './modeler/diff';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn-codes.css';
import './modeler/bpmn-font.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import './modeler/modeler.css';

const GovFlowPropertiesModule = {
  __init__: ['govflowPropertiesProvider'],
  govflowPropertiesProvider: ['type', GovFlowPropertiesProvider],
};

// "Change element" must not offer what the deploy lint refuses (app/engine/bpmn.py _REFUSED_ELEMENTS).
const REFUSED_REPLACEMENTS = /^replace-with-(service-task|send-task|receive-task|rule-task|call-activity)$|^toggle-(parallel|sequential)-mi$/;

function withoutRefused(entries) {
  return Object.fromEntries(Object.entries(entries).filter(([id]) => !REFUSED_REPLACEMENTS.test(id)));
}

class RefusedReplacementsFilter {
  constructor(popupMenu) {
    popupMenu.registerProvider('bpmn-replace', 100, this);
  }

  getPopupMenuEntries() {
    return withoutRefused;
  }

  getPopupMenuHeaderEntries() {
    return withoutRefused;
  }
}
RefusedReplacementsFilter.$inject = ['popupMenu'];

const GovFlowReplaceModule = {
  __init__: ['govflowRefusedReplacements'],
  govflowRefusedReplacements: ['type', RefusedReplacementsFilter],
};

function resolve(target) {
  return typeof target === 'string' ? document.querySelector(target) : target;
}

function importError(err) {
  const detail = (err && err.message) || String(err);
  if (/unparsable content|non-whitespace outside of root|unexpected end of file|missing start tag|unclosed tag/i.test(detail)) {
    return new Error(`无法打开：文件不是有效的 XML（${detail}）`);
  }
  if (/no diagram to display|no process or collaboration/i.test(detail)) {
    return new Error('无法打开：文件中没有可显示的流程图（缺少 BPMNDiagram）');
  }
  return new Error(`无法打开：不是可识别的 BPMN 2.0 文件（${detail}）`);
}

// Strings @bpmn-io/properties-panel hard-codes in English (no translate hook reaches them).
const FIXED_TITLES = { 'Open pop-up editor': '在弹出窗口中编辑', 'Save and close': '保存并关闭' };

function localizeTitles(root) {
  for (const node of root.querySelectorAll('[title]')) {
    const zh = FIXED_TITLES[node.getAttribute('title')];
    if (zh) node.setAttribute('title', zh);
  }
}

function localizePopups(eventBus, panelEl) {
  // The text popup's title is "bpmn:ScriptTask / <label>": name the element instead.
  eventBus.on('propertiesPanelPopup.open', 2000, (event) => {
    const { config } = event;
    if (!config || !config.element) return;
    const bo = config.element.businessObject;
    config.title = `${(bo && bo.name) || config.element.id} · ${config.label || ''}`;
  });
  // After the popup renderer (priority 1000) has mounted it.
  eventBus.on('propertiesPanelPopup.open', 500, () => {
    setTimeout(() => document.querySelectorAll('.bio-properties-panel-popup').forEach(localizeTitles), 0);
  });
  const observer = new MutationObserver(() => localizeTitles(panelEl));
  observer.observe(panelEl, { childList: true, subtree: true });
  eventBus.on('diagram.destroy', () => observer.disconnect());
}

function create({ container, propertiesPanel, vocabulary } = {}) {
  const canvasEl = resolve(container);
  const panelEl = resolve(propertiesPanel);
  if (!canvasEl) throw new Error('GovFlowModeler.create：缺少画布容器');
  const modeler = new BpmnModeler({
    container: canvasEl,
    propertiesPanel: panelEl ? { parent: panelEl } : undefined,
    additionalModules: [
      ...(panelEl ? [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule,
        CamundaPlatformPropertiesProviderModule, GovFlowPropertiesModule] : []),
      CamundaBehaviorsModule,
      GovFlowReplaceModule,
      translateModule,
    ],
    moddleExtensions: { camunda: camundaModdle },
    govflow: { vocabulary: vocabulary || {} },
  });
  const markers = new Markers(modeler);
  const eventBus = modeler.get('eventBus');
  if (panelEl) localizePopups(eventBus, panelEl);

  return {
    modeler,

    async open(xml) {
      if (typeof xml !== 'string' || !xml.trim()) throw new Error('无法打开：内容为空');
      let result;
      try {
        result = await modeler.importXML(xml);
      } catch (err) {
        throw importError(err);
      }
      // A hidden container (0×0) has no viewport to fit: leave the zoom at 1 then.
      if (canvasEl.clientWidth && canvasEl.clientHeight) modeler.get('canvas').zoom('fit-viewport', 'auto');
      markers.reapply();
      return { warnings: (result && result.warnings || []).map((w) => w.message || String(w)) };
    },

    async save() {
      const { xml } = await modeler.saveXML({ format: true });
      return xml;
    },

    showProblems(problems) {
      markers.showProblems(problems);
    },

    markSystemBound(list) {
      markers.markSystemBound(list);
    },

    onChange(cb) {
      const listener = () => cb();
      eventBus.on('commandStack.changed', listener);
      return () => eventBus.off('commandStack.changed', listener);
    },

    selectElement(id) {
      const element = drawnElement(modeler.get('elementRegistry'), id);
      if (!element) return false;
      const canvas = modeler.get('canvas');
      const root = canvas.findRoot(element);
      if (root && root !== canvas.getRootElement()) canvas.setRootElement(root);
      canvas.scrollToElement(element);
      modeler.get('selection').select(element);
      return true;
    },

    destroy() {
      modeler.destroy();
    },
  };
}

// `untranslated`: English templates met at run time with no Chinese (for tests; normally empty).
window.GovFlowModeler = { create, drawDiff, untranslated };
