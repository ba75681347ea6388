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
  'Type ': '类型',
  'Date': '日期',
  'Duration': '时长',
  'Cycle': '周期',
  'Multi-instance': '多实例',
  'Loop characteristics': '循环特性',
  'Open minimap': '打开小地图',
  'Close minimap': '关闭小地图',
  'Toggle minimap': '切换小地图',
};

const DICTIONARY = { ...bpmnJs, ...propertiesPanel, ...camundaPanel, ...OVERRIDES };

/** Translate a template and fill its {placeholders}, as diagram-js's own translate does. */
export function customTranslate(template, replacements) {
  replacements = replacements || {};
  const text = DICTIONARY[template] || template;
  return text.replace(/{([^}]+)}/g, (_, key) => (key in replacements ? replacements[key] : `{${key}}`));
}

export default { translate: ['value', customTranslate] };
