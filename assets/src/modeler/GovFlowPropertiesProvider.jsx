// The GovFlow groups of the properties panel, and the filter that hides what our engine refuses.
//
// What our engine reads (app/engine/bpmn.py, app/workdays/service.py, app/engine/forms.py):
//   user task     camunda:dueDate="NWD", or extension property limit=<statutory limit setting>;
//                 camunda:candidateGroups="role,role"; camunda:formData/camunda:formField
//   sequence flow conditionExpression: a Python expression under the sandbox
//   script task   script (scriptFormat python) under the sandbox
// Every edit goes through the command stack (element.updateProperties / element.updateModdleProperties),
// so undo works and the editor's onChange fires.
import { getBusinessObject, is, isAny } from 'bpmn-js/lib/util/ModelUtil';
import {
  CheckboxEntry, CollapsibleEntry, ListEntry, ListGroup, SelectEntry, TextAreaEntry, TextFieldEntry,
  isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited,
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';

export const SANDBOX_HINT = 'Python 受限环境：只能使用流程变量、字面量、常见运算与内置函数'
  + '（len、min、max、sum、sorted、any、all、abs、round、str、int、float、bool、list、dict、set、'
  + 'tuple、range、enumerate、zip、isinstance）；不能导入模块，不能访问以下划线开头的名称或属性'
  + '（如 __class__），不能定义类、使用 with 语句；变量名 typename 为系统保留；运行有时间与内存上限。';

const DUE_RULE = /^\s*(\d{1,3})\s*WD\s*$/i;
const FIELD_ID = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_KEY = 'typename';
const FILTER_PRIORITY = 100; // after bpmn (1000) and camunda-platform (500): sees their groups

// Camunda 7 groups for features our deploy lint refuses or our engine never reads.
const HIDDEN_GROUPS = new Set([
  'CamundaPlatform__Implementation', 'CamundaPlatform__Errors', 'CamundaPlatform__ExternalTask',
  'CamundaPlatform__AsynchronousContinuations', 'CamundaPlatform__JobExecution',
  'CamundaPlatform__CandidateStarter', 'CamundaPlatform__FieldInjection', 'CamundaPlatform__HistoryCleanup',
  'CamundaPlatform__Tasklist', 'CamundaPlatform__InMapping', 'CamundaPlatform__InMappingPropagation',
  'CamundaPlatform__OutMapping', 'CamundaPlatform__OutMappingPropagation', 'CamundaPlatform__Input',
  'CamundaPlatform__Output', 'CamundaPlatform__ConnectorInput', 'CamundaPlatform__ConnectorOutput',
  'CamundaPlatform__ExecutionListener', 'CamundaPlatform__TaskListener', 'CamundaPlatform__CallActivity',
  'CamundaPlatform__StartInitiator', 'CamundaPlatform__BusinessKey', 'CamundaPlatform__Form',
  // Replaced by our own entries (candidate groups, due date; script; condition).
  'CamundaPlatform__UserAssignment', 'CamundaPlatform__Script',
]);

// -------------------------------------------------------------------------------------------------
// Model helpers

function extensionValues(bo, type) {
  const ext = bo.get('extensionElements');
  return ext ? (ext.get('values') || []).filter((v) => is(v, type)) : [];
}

function create(bpmnFactory, type, properties, parent) {
  const el = bpmnFactory.create(type, properties);
  if (parent) el.$parent = parent;
  return el;
}

/**
 * Return [commands, extensionElements]: the commands that create bo's extensionElements when missing.
 */
function ensureExtensionElements(element, bo, bpmnFactory) {
  let ext = bo.get('extensionElements');
  const commands = [];
  if (!ext) {
    ext = create(bpmnFactory, 'bpmn:ExtensionElements', { values: [] }, bo);
    commands.push(updateModdle(element, bo, { extensionElements: ext }));
  }
  return [commands, ext];
}

function updateModdle(element, moddleElement, properties) {
  return { cmd: 'element.updateModdleProperties', context: { element, moddleElement, properties } };
}

function run(commandStack, commands) {
  if (commands.length) commandStack.execute('properties-panel.multi-command-executor', commands);
}

function limitProperty(bo) {
  for (const props of extensionValues(bo, 'camunda:Properties')) {
    const found = (props.get('values') || []).find((p) => (p.get('name') || p.get('id')) === 'limit');
    if (found) return [props, found];
  }
  return [null, null];
}

function dueMode(bo) {
  if (limitProperty(bo)[1]) return 'limit';
  return bo.get('camunda:dueDate') ? 'days' : 'none';
}

/** Commands that remove the `limit` extension property (and its camunda:properties if left empty). */
function removeLimitCommands(element, bo) {
  const [props, prop] = limitProperty(bo);
  if (!prop) return [];
  const rest = props.get('values').filter((p) => p !== prop);
  if (rest.length) return [updateModdle(element, props, { values: rest })];
  const ext = bo.get('extensionElements');
  return [updateModdle(element, ext, { values: ext.get('values').filter((v) => v !== props) })];
}

function setLimitCommands(element, bo, name, bpmnFactory) {
  const [props, prop] = limitProperty(bo);
  if (prop) return [updateModdle(element, prop, { value: name })];
  const [commands, ext] = ensureExtensionElements(element, bo, bpmnFactory);
  let container = extensionValues(bo, 'camunda:Properties')[0];
  const property = create(bpmnFactory, 'camunda:Property', { name: 'limit', value: name });
  if (container) {
    property.$parent = container;
    commands.push(updateModdle(element, container, { values: [...container.get('values'), property] }));
  } else {
    container = create(bpmnFactory, 'camunda:Properties', { values: [property] }, ext);
    property.$parent = container;
    commands.push(updateModdle(element, ext, { values: [...(ext.get('values') || []), container] }));
  }
  return commands;
}

function splitGroups(value) {
  return (value || '').split(',').map((s) => s.trim()).filter(Boolean);
}

function formData(bo) {
  return extensionValues(bo, 'camunda:FormData')[0] || null;
}

function requiredConstraints(field) {
  const validation = field.get('validation');
  return validation ? (validation.get('constraints') || []).filter((c) => c.get('name') === 'required') : [];
}

function isRequired(field) {
  return requiredConstraints(field).some((c) => (c.get('config') || '').trim().toLowerCase() !== 'false');
}

function isConditionalFlow(element) {
  if (!is(element, 'bpmn:SequenceFlow')) return false;
  const source = element.source && getBusinessObject(element.source);
  return !!source && isAny(source, ['bpmn:ExclusiveGateway', 'bpmn:InclusiveGateway', 'bpmn:ComplexGateway']);
}

function isDefaultFlow(element) {
  const bo = getBusinessObject(element);
  const source = element.source && getBusinessObject(element.source);
  return !!source && source.get('default') === bo;
}

// -------------------------------------------------------------------------------------------------
// 办理期限

function DueMode({ element }) {
  const bo = getBusinessObject(element);
  const commandStack = useService('commandStack');
  const bpmnFactory = useService('bpmnFactory');
  const vocabulary = useService('config.govflow', false)?.vocabulary || {};
  const limits = vocabulary.limits || [];
  const setValue = (mode) => {
    const commands = [];
    if (mode === 'none') {
      commands.push(...removeLimitCommands(element, bo));
      commands.push(updateModdle(element, bo, { 'camunda:dueDate': undefined }));
    } else if (mode === 'days') {
      commands.push(...removeLimitCommands(element, bo));
      const current = bo.get('camunda:dueDate');
      commands.push(updateModdle(element, bo, { 'camunda:dueDate': DUE_RULE.test(current || '') ? current : '5WD' }));
    } else if (mode === 'limit' && limits.length) {
      const limit = limits[0];
      commands.push(...setLimitCommands(element, bo, limit.name, bpmnFactory));
      // The shipped files keep the number of days beside the name: readable in any modeler.
      commands.push(updateModdle(element, bo, { 'camunda:dueDate': `${limit.working_days}WD` }));
    }
    run(commandStack, commands);
  };
  const options = [
    { value: 'none', label: '不设期限' },
    { value: 'days', label: 'N 个工作日' },
  ];
  if (limits.length || dueMode(bo) === 'limit') options.push({ value: 'limit', label: '法定时限' });
  return (
    <SelectEntry element={element} id="govflow-due-mode" label="办理期限"
      getValue={() => dueMode(bo)} setValue={setValue} getOptions={() => options} />
  );
}

function DueDays({ element }) {
  const bo = getBusinessObject(element);
  const commandStack = useService('commandStack');
  const debounce = useService('debounceInput');
  const getValue = () => {
    const match = DUE_RULE.exec(bo.get('camunda:dueDate') || '');
    return match ? String(Number(match[1])) : (bo.get('camunda:dueDate') || '');
  };
  const validate = (value) => {
    const text = (value || '').trim();
    if (!/^\d{1,3}$/.test(text) || Number(text) < 1) return '请填写 1 到 999 之间的整数';
    return null;
  };
  const setValue = (value, error) => {
    if (error) return;
    run(commandStack, [updateModdle(element, bo, { 'camunda:dueDate': `${Number(value.trim())}WD` })]);
  };
  return (
    <TextFieldEntry element={element} id="govflow-due-days" label="工作日数"
      description="按法定工作日计算（节假日与调休按系统日历），写入 camunda:dueDate，如 5WD"
      getValue={getValue} setValue={setValue} validate={validate} debounce={debounce} />
  );
}

function DueLimit({ element }) {
  const bo = getBusinessObject(element);
  const commandStack = useService('commandStack');
  const bpmnFactory = useService('bpmnFactory');
  const vocabulary = useService('config.govflow', false)?.vocabulary || {};
  const limits = vocabulary.limits || [];
  const current = () => limitProperty(bo)[1]?.get('value') || '';
  const getOptions = () => {
    const options = limits.map((l) => ({ value: l.name, label: l.label || l.name }));
    const value = current();
    if (value && !limits.some((l) => l.name === value)) options.push({ value, label: `${value}（未知的法定时限）` });
    return options;
  };
  const setValue = (name) => {
    const limit = limits.find((l) => l.name === name);
    const commands = setLimitCommands(element, bo, name, bpmnFactory);
    if (limit) commands.push(updateModdle(element, bo, { 'camunda:dueDate': `${limit.working_days}WD` }));
    run(commandStack, commands);
  };
  return (
    <SelectEntry element={element} id="govflow-due-limit" label="法定时限"
      description="期限取自系统设置中的法定时限，设置改变时随之改变"
      getValue={current} setValue={setValue} getOptions={getOptions} />
  );
}

// -------------------------------------------------------------------------------------------------
// 候选角色

function CandidateRoles({ element }) {
  const bo = getBusinessObject(element);
  const commandStack = useService('commandStack');
  const vocabulary = useService('config.govflow', false)?.vocabulary || {};
  const roles = vocabulary.roles || [];
  const selected = splitGroups(bo.get('camunda:candidateGroups'));
  const known = new Set(roles.map((r) => r.id));
  const shown = [...roles, ...selected.filter((id) => !known.has(id)).map((id) => ({ id, name: `${id}（未知角色）` }))];
  const toggle = (roleId, on) => {
    const current = splitGroups(bo.get('camunda:candidateGroups'));
    const next = on ? [...current.filter((r) => r !== roleId), roleId] : current.filter((r) => r !== roleId);
    // Keep the organisation's order, unknown ones last, so the attribute does not churn.
    const order = shown.map((r) => r.id);
    next.sort((a, b) => order.indexOf(a) - order.indexOf(b));
    run(commandStack, [updateModdle(element, bo, { 'camunda:candidateGroups': next.length ? next.join(',') : undefined })]);
  };
  return (
    <div class="bio-properties-panel-entry govflow-roles" data-entry-id="govflow-candidate-roles">
      <div class="bio-properties-panel-label">候选角色</div>
      {shown.length === 0 && <div class="bio-properties-panel-description">（没有可选的角色）</div>}
      {shown.map((role) => (
        <CheckboxEntry key={role.id} element={element} id={`govflow-role-${role.id}`} label={role.name}
          getValue={() => splitGroups(bo.get('camunda:candidateGroups')).includes(role.id)}
          setValue={(on) => toggle(role.id, on)} />
      ))}
      <div class="bio-properties-panel-description">
        持有所选角色的人员在其收件箱中看到此任务；一个角色都不选的任务没有人能看到，部署时会被拒绝。
      </div>
    </div>
  );
}

// -------------------------------------------------------------------------------------------------
// 条件 and 脚本

function ConditionEntry({ element }) {
  const bo = getBusinessObject(element);
  const commandStack = useService('commandStack');
  const bpmnFactory = useService('bpmnFactory');
  const debounce = useService('debounceInput');
  const translate = useService('translate');
  const getValue = () => bo.get('conditionExpression')?.get('body') || '';
  const setValue = (value) => {
    const text = value || '';
    const existing = bo.get('conditionExpression');
    if (!text.trim()) {
      run(commandStack, [updateModdle(element, bo, { conditionExpression: undefined })]);
    } else if (existing) {
      run(commandStack, [updateModdle(element, existing, { body: text })]);
    } else {
      const expression = create(bpmnFactory, 'bpmn:FormalExpression', { body: text }, bo);
      run(commandStack, [updateModdle(element, bo, { conditionExpression: expression })]);
    }
  };
  return (
    <TextAreaEntry element={element} id="govflow-condition" label="条件（Python 表达式）" monospace rows={3}
      description={`例如 share_type == "unconditional"。${SANDBOX_HINT}`}
      getValue={getValue} setValue={setValue} debounce={debounce} translate={translate} />
  );
}

function DefaultFlowNote() {
  return (
    <div class="bio-properties-panel-entry" data-entry-id="govflow-default-flow">
      <div class="bio-properties-panel-description">这是网关的默认流：其他条件都不成立时走这条，不需要条件。</div>
    </div>
  );
}

function ScriptEntry({ element }) {
  const bo = getBusinessObject(element);
  const commandStack = useService('commandStack');
  const debounce = useService('debounceInput');
  const translate = useService('translate');
  const getValue = () => bo.get('script') || '';
  const setValue = (value) => {
    const properties = { script: value || undefined };
    if (!bo.get('scriptFormat')) properties.scriptFormat = 'python';
    run(commandStack, [updateModdle(element, bo, properties)]);
  };
  return (
    <TextAreaEntry element={element} id="govflow-script" label="脚本（Python）" monospace rows={6} autoResize
      description={`脚本给变量赋值即写回流程数据，例如 outcome = "granted"。${SANDBOX_HINT}`}
      getValue={getValue} setValue={setValue} debounce={debounce} translate={translate} />
  );
}

function ScriptFormatNote({ element }) {
  const format = getBusinessObject(element).get('scriptFormat');
  return (
    <div class="bio-properties-panel-entry" data-entry-id="govflow-script-format">
      <div class="bio-properties-panel-description govflow-warning">
        脚本格式为“{format}”：本系统只执行 Python，请改为 python。
      </div>
    </div>
  );
}

// -------------------------------------------------------------------------------------------------
// 表单字段

function FieldText({ element, field, id, property, label, validate, description }) {
  const commandStack = useService('commandStack');
  const debounce = useService('debounceInput');
  return (
    <TextFieldEntry element={element} id={id} label={label} description={description}
      getValue={() => field.get(property) || ''} validate={validate} debounce={debounce}
      setValue={(value, error) => {
        if (error) return;
        run(commandStack, [updateModdle(element, field, { [property]: value || undefined })]);
      }} />
  );
}

function fieldIdValidator(field) {
  return (value) => {
    const text = value || '';
    if (!text) return '字段名不能为空';
    if (!FIELD_ID.test(text)) return '字段名只能用英文字母、数字和下划线，且不能以数字开头';
    if (text === RESERVED_KEY) return `字段名 ${RESERVED_KEY} 为系统保留`;
    const siblings = (field.$parent && field.$parent.get('fields')) || [];
    if (siblings.some((other) => other !== field && other.get('id') === text)) return '与本表单的其他字段重名';
    return null;
  };
}

function FieldType({ element, field, id }) {
  const commandStack = useService('commandStack');
  const vocabulary = useService('config.govflow', false)?.vocabulary || {};
  const types = vocabulary.form_types || [];
  const getOptions = () => {
    const options = types.map((t) => ({ value: t.id, label: t.name }));
    const value = field.get('type') || 'string';
    if (!types.some((t) => t.id === value)) options.push({ value, label: `${value}（不支持的类型）` });
    return options;
  };
  return (
    <SelectEntry element={element} id={id} label="类型" getOptions={getOptions}
      getValue={() => field.get('type') || 'string'}
      setValue={(value) => {
        // Fixed options only make sense for 选项; on other types they would silently restrict the input.
        const properties = { type: value };
        if (value !== 'enum' && (field.get('values') || []).length) properties.values = [];
        run(commandStack, [updateModdle(element, field, properties)]);
      }} />
  );
}

function FieldRequired({ element, field, id }) {
  const commandStack = useService('commandStack');
  const bpmnFactory = useService('bpmnFactory');
  const setValue = (on) => {
    let validation = field.get('validation');
    const commands = [];
    if (on) {
      if (!validation) {
        validation = create(bpmnFactory, 'camunda:Validation', { constraints: [] }, field);
        commands.push(updateModdle(element, field, { validation }));
      }
      const constraint = create(bpmnFactory, 'camunda:Constraint', { name: 'required' }, validation);
      const rest = (validation.get('constraints') || []).filter((c) => c.get('name') !== 'required');
      commands.push(updateModdle(element, validation, { constraints: [...rest, constraint] }));
    } else if (validation) {
      const rest = (validation.get('constraints') || []).filter((c) => c.get('name') !== 'required');
      commands.push(rest.length ? updateModdle(element, validation, { constraints: rest })
        : updateModdle(element, field, { validation: undefined }));
    }
    run(commandStack, commands);
  };
  return <CheckboxEntry element={element} id={id} label="必填" getValue={() => isRequired(field)} setValue={setValue} />;
}

function OptionItem({ element, id: idPrefix, index, item: value, open }) {
  const id = `${idPrefix}-option-${index}`;
  const entries = [
    { id: `${id}-name`, component: FieldText, field: value, property: 'name', label: '显示名称', element },
    { id: `${id}-id`, component: FieldText, field: value, property: 'id', label: '取值', element,
      validate: (v) => (v ? null : '取值不能为空') },
  ];
  return <CollapsibleEntry id={id} element={element} entries={entries} open={open}
    label={value.get('name') || value.get('id') || '<空>'} />;
}

function FieldOptions({ element, field, id }) {
  const commandStack = useService('commandStack');
  const bpmnFactory = useService('bpmnFactory');
  const translate = useService('translate');
  const values = field.get('values') || [];
  const onAdd = () => {
    const n = values.length + 1;
    const value = create(bpmnFactory, 'camunda:Value', { id: `option_${n}`, name: `选项${n}` }, field);
    run(commandStack, [updateModdle(element, field, { values: [...values, value] })]);
  };
  const onRemove = (value) => run(commandStack, [updateModdle(element, field, { values: values.filter((v) => v !== value) })]);
  return (
    <ListEntry element={element} id={id} label="选项" items={values} component={OptionItem}
      onAdd={onAdd} onRemove={onRemove} translate={translate}
      autoFocusEntry={`[data-entry-id="${id}-option-${values.length - 1}-name"] input`} />
  );
}

function fieldEntries(element, field, idPrefix) {
  const entries = [
    { id: `${idPrefix}-label`, component: FieldText, element, field, property: 'label', label: '标签',
      description: '办理人在表单上看到的名称' },
    { id: `${idPrefix}-id`, component: FieldText, element, field, property: 'id', label: '字段名',
      description: '流程变量名，条件和脚本中用它引用填写的值', validate: fieldIdValidator(field) },
    { id: `${idPrefix}-type`, component: FieldType, element, field },
    { id: `${idPrefix}-required`, component: FieldRequired, element, field },
  ];
  if (field.get('type') === 'enum') entries.push({ id: `${idPrefix}-options`, component: FieldOptions, element, field });
  return entries;
}

function formFieldsGroup(element, injector) {
  const bo = getBusinessObject(element);
  const bpmnFactory = injector.get('bpmnFactory');
  const commandStack = injector.get('commandStack');
  const translate = injector.get('translate');
  const data = formData(bo);
  const fields = data ? data.get('fields') || [] : [];
  const items = fields.map((field, index) => {
    const id = `${element.id}-govflow-field-${index}`;
    return {
      id,
      label: field.get('label') || field.get('id') || '<空>',
      entries: fieldEntries(element, field, id),
      autoFocusEntry: `${id}-label`,
      remove: (event) => {
        event.stopPropagation();
        run(commandStack, [updateModdle(element, data, { fields: data.get('fields').filter((f) => f !== field) })]);
      },
    };
  });
  const add = (event) => {
    event.stopPropagation();
    const [commands, ext] = ensureExtensionElements(element, bo, bpmnFactory);
    let container = formData(bo);
    const taken = new Set((container ? container.get('fields') : []).map((f) => f.get('id')));
    let n = (container ? container.get('fields').length : 0) + 1;
    while (taken.has(`field_${n}`)) n += 1;
    const field = create(bpmnFactory, 'camunda:FormField', { id: `field_${n}`, label: `字段${n}`, type: 'string' });
    if (container) {
      field.$parent = container;
      commands.push(updateModdle(element, container, { fields: [...container.get('fields'), field] }));
    } else {
      container = create(bpmnFactory, 'camunda:FormData', { fields: [field] }, ext);
      field.$parent = container;
      commands.push(updateModdle(element, ext, { values: [...(ext.get('values') || []), container] }));
    }
    run(commandStack, commands);
  };
  return { id: 'GovFlow__FormFields', label: '表单字段', component: ListGroup, items, add, translate, shouldOpen: true };
}

// -------------------------------------------------------------------------------------------------
// The provider

function settingsEntries(element) {
  const bo = getBusinessObject(element);
  const entries = [];
  if (is(element, 'bpmn:UserTask')) {
    entries.push({ id: 'govflow-due-mode', component: DueMode, isEdited: isSelectEntryEdited });
    const mode = dueMode(bo);
    if (mode === 'days') entries.push({ id: 'govflow-due-days', component: DueDays, isEdited: isTextFieldEntryEdited });
    if (mode === 'limit') entries.push({ id: 'govflow-due-limit', component: DueLimit, isEdited: isSelectEntryEdited });
    entries.push({ id: 'govflow-candidate-roles', component: CandidateRoles });
  } else if (isConditionalFlow(element)) {
    if (isDefaultFlow(element) && !bo.get('conditionExpression')) {
      entries.push({ id: 'govflow-default-flow', component: DefaultFlowNote });
    } else {
      entries.push({ id: 'govflow-condition', component: ConditionEntry, isEdited: isTextAreaEntryEdited });
    }
  } else if (is(element, 'bpmn:ScriptTask')) {
    const format = (bo.get('scriptFormat') || 'python').trim().toLowerCase();
    if (format !== 'python' && format !== 'python3') entries.push({ id: 'govflow-script-format', component: ScriptFormatNote });
    entries.push({ id: 'govflow-script', component: ScriptEntry, isEdited: isTextAreaEntryEdited });
  }
  return entries;
}

export default class GovFlowPropertiesProvider {
  constructor(propertiesPanel, injector) {
    this._injector = injector;
    propertiesPanel.registerProvider(FILTER_PRIORITY, this);
  }

  getGroups(element) {
    return (groups) => {
      const ours = [];
      const entries = settingsEntries(element);
      if (entries.length) ours.push({ id: 'GovFlow__Settings', label: '办理设置', entries, shouldOpen: true });
      if (is(element, 'bpmn:UserTask')) ours.push(formFieldsGroup(element, this._injector));
      const translate = this._injector.get('translate');
      const kept = groups.filter((group) => {
        if (HIDDEN_GROUPS.has(group.id)) return false;
        // Our condition entry replaces Camunda's on flows out of gateways; conditional events keep theirs.
        if (group.id === 'CamundaPlatform__Condition' && isConditionalFlow(element)) return false;
        // The engine reads extension properties of user tasks only (limit, department, due_from).
        if (group.id === 'CamundaPlatform__ExtensionProperties' && !is(element, 'bpmn:UserTask')
            && !getBusinessObject(element).get('extensionElements')) return false;
        return true;
      });
      // Group headers translate their button titles only when handed `translate`.
      return [...ours, ...kept].map((group) => (group.translate ? group : { ...group, translate }));
    };
  }
}

GovFlowPropertiesProvider.$inject = ['propertiesPanel', 'injector'];
