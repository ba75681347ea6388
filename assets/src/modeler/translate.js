// Chinese for bpmn-js, the properties panel and its Camunda 7 provider: the community dictionaries
// of bpmn-js-i18n-zh plus our own entries for strings they miss (found by looking at the running
// modeler) and a few wordings we prefer.
import bpmnJs from 'bpmn-js-i18n-zh/lib/bpmn-js';
import propertiesPanel from 'bpmn-js-i18n-zh/lib/properties-panel';
import camundaPanel from 'bpmn-js-i18n-zh/lib/camunda-properties-panel';

const OVERRIDES = {
  // Missing from bpmn-js-i18n-zh 1.3.0 (palette, context pad, popup menu, panel).
  'Create start event': '创建开始事件',
  'Create end event': '创建结束事件',
  'Create intermediate/boundary event': '创建中间/边界事件',
  'Create gateway': '创建网关',
  'Create task': '创建任务',
  'Create data object reference': '创建数据对象引用',
  'Create data store reference': '创建数据存储引用',
  'Create expanded sub-process': '创建展开的子流程',
  'Create pool/participant': '创建池/参与者',
  'Create group': '创建分组',
  'Activate hand tool': '启用抓手工具',
  'Activate lasso tool': '启用套索工具',
  'Activate create/remove space tool': '启用创建/删除空间工具',
  'Activate global connect tool': '启用全局连接工具',
  'Search in diagram': '在图中搜索',
  'Add text annotation': '添加文本注释',
  'Connect to other element': '连接到其他元素',
  'Connect using association': '用关联连接',
  'Connect using sequence/message flow or association': '用顺序流/消息流或关联连接',
  'Change element': '更改元素',
  'Delete': '删除',
  'Append element': '追加元素',
  'Append text annotation': '追加文本注释',
  'Replace': '替换',
  'Change type': '更改类型',
  'Search': '搜索',
  'No results': '无结果',
  'Name': '名称',
  'ID': '编号（ID）',
  'Documentation': '说明',
  'Element documentation': '元素说明',
  'Process documentation': '流程说明',
  'Version tag': '版本标签',
  'Executable': '可执行',
  'Extension properties': '扩展属性',
  'Form fields': '表单字段（高级：约束与属性）',
  'Process variables': '流程变量',
  '<empty>': '<空>',
  'Value': '值',
  'Values': '选项',
  'Label': '标签',
  'Type': '类型',
  'Default value': '默认值',
  'Constraints': '约束',
  'Properties': '属性',
  'Config': '配置',
  'Custom type': '自定义类型',
  'Timer': '定时器',
  'Date': '日期',
  'Duration': '时长',
  'Cycle': '周期',
  'Multi-instance': '多实例',
  'Loop characteristics': '循环特性',
  'Open minimap': '打开小地图',
  // The panel header spells types in title case (User Task); most come from the sentence-case
  // dictionary through `loose` below, these have no counterpart there.
  'Process': '流程',
  'Default Flow': '默认流',
  'Conditional Flow': '条件流',
  'Sequence Flow': '顺序流',
  'Message Flow': '消息流',
  'Expanded Sub Process': '展开的子流程',
  'Collapsed Sub Process': '折叠的子流程',
  'Event Sub Process': '事件子流程',
  'Ad-hoc sub-process': '自由子流程（Ad-hoc）',
  'Ad-hoc sub-process (collapsed)': '自由子流程（折叠）',
  'Ad-hoc sub-process (expanded)': '自由子流程（展开）',
  'Completion': '完成条件',
  '<custom type>': '<自定义类型>',
  'Create new list item': '新增一项',
  'Create': '新增',
  'Delete item': '删除此项',
  'Toggle list item': '展开/收起此项',
  'Toggle section': '展开/收起',
  'Section contains edits': '本节已填写',
  'Section contains an error': '本节有错误',
  'Open pop-up editor': '在弹出窗口中编辑',
  'Opened in editor': '正在弹出窗口中编辑',
  'List contains {numOfItems} item': '共 {numOfItems} 项',
  'List contains {numOfItems} items': '共 {numOfItems} 项',
  'This maps to the process definition key.': '即流程定义的 key（流程编号），部署后不要更改。',
  // camunda:formField types, as the Camunda form-field list offers them.
  'string': '文本（string）',
  'long': '整数（long）',
  'boolean': '是/否（boolean）',
  'date': '日期（date）',
  'enum': '选项（enum）',
  'Close minimap': '关闭小地图',
  'Toggle minimap': '切换小地图',
};

const DICTIONARY = { ...bpmnJs, ...propertiesPanel, ...camundaPanel, ...OVERRIDES };

// "Timer Boundary Event (Non Interrupting)" finds "Timer boundary event (non-interrupting)".
const loose = (text) => text.toLowerCase().replace(/[-\s()]+/g, ' ').trim();
const LOOSE = new Map(Object.entries(DICTIONARY).map(([key, value]) => [loose(key), value]));

/** Templates asked for but missing from the dictionary (tests read it to find English left on screen). */
export const untranslated = new Set();

/** Translate a template and fill its {placeholders}, as diagram-js's own translate does. */
export function customTranslate(template, replacements) {
  replacements = replacements || {};
  const text = DICTIONARY[template] || LOOSE.get(loose(template));
  if (!text) untranslated.add(template);
  return (text || template)
    .replace(/{([^}]+)}/g, (_, key) => (key in replacements ? replacements[key] : `{${key}}`));
}

export default { translate: ['value', customTranslate] };
