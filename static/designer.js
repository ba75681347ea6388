/* GovFlow designer pages (plain ES2017, no build step): the workspace's confirmations, the modeler page
   (save, download, upload, scenarios, submit, problem list) and the drawn diffs of the review and version
   pages. The bpmn-js work is GovFlowModeler's (static/vendor/govflow-modeler.js). */
(function () {
  'use strict';

  var TYPE_ZH = {
    'bpmn:UserTask': '用户任务', 'bpmn:ServiceTask': '服务任务', 'bpmn:ScriptTask': '脚本任务',
    'bpmn:Task': '任务', 'bpmn:ExclusiveGateway': '排他网关', 'bpmn:ParallelGateway': '并行网关',
    'bpmn:InclusiveGateway': '包容网关', 'bpmn:StartEvent': '开始事件', 'bpmn:EndEvent': '结束事件',
    'bpmn:IntermediateCatchEvent': '中间事件', 'bpmn:BoundaryEvent': '边界事件',
    'bpmn:SequenceFlow': '连线', 'bpmn:SubProcess': '子流程', 'bpmn:CallActivity': '调用活动'
  };

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') : '';
  }

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  /* fetch() against /api with the page's cookie: JSON in, {ok, status, body} out; never throws for HTTP. */
  async function api(method, url, body) {
    var headers = { 'Accept': 'application/json', 'X-CSRF-Token': csrfToken() };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    var response;
    try {
      response = await fetch(url, {
        method: method, headers: headers, credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body)
      });
    } catch (err) {
      return { ok: false, status: 0, body: { detail: { code: 'network', message: '网络连接失败，请检查网络后重试' } } };
    }
    var data = null;
    var text = await response.text();
    if (text) {
      try { data = JSON.parse(text); } catch (err) { data = { raw: text }; }
    }
    return { ok: response.ok, status: response.status, body: data };
  }

  /* The Chinese message of an API error body ({"detail": {"code","message"}} or {"detail": "..."}). */
  function errorMessage(result) {
    var detail = result.body && result.body.detail;
    if (detail && typeof detail === 'object' && detail.message) return detail.message;
    if (typeof detail === 'string') return detail;
    if (result.status === 0) return '网络连接失败，请检查网络后重试';
    return '服务器返回错误（HTTP ' + result.status + '）';
  }

  function errorCode(result) {
    var detail = result.body && result.body.detail;
    return detail && typeof detail === 'object' ? detail.code : null;
  }

  function errorProblems(result) {
    var detail = result.body && result.body.detail;
    if (detail && typeof detail === 'object') {
      if (Array.isArray(detail.problems)) return detail.problems;
      if (Array.isArray(detail.errors)) return detail.errors;
    }
    return null;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /* Forms with data-confirm ask first (delete a draft, roll back to a version). */
  function wireConfirmations() {
    document.querySelectorAll('form[data-confirm]').forEach(function (form) {
      form.addEventListener('submit', function (event) {
        if (!window.confirm(form.getAttribute('data-confirm'))) event.preventDefault();
      });
    });
  }

  // ---- the modeler page ---------------------------------------------------------------------------

  async function modelerPage(root) {
    var draft = readJson('draft-data');
    var readonly = root.getAttribute('data-readonly') === '1';
    var stateEl = document.getElementById('save-state');
    var problemsEl = document.getElementById('problems');
    var countEl = document.getElementById('problems-count');
    var dirty = false;
    var saving = false;
    var validateTimer = null;
    var validateSeq = 0;
    var editor = null;
    var imported = false;
    var names = {};

    function setState(kind, text) {
      stateEl.className = 'save-state ' + kind;
      stateEl.textContent = text;
    }

    function elementName(id) {
      if (!id) return '';
      if (editor && editor.modeler) {
        try {
          var found = editor.modeler.get('elementRegistry').get(id);
          if (found && found.businessObject) {
            var bo = found.businessObject;
            return (bo.name ? bo.name : id) + '（' + (TYPE_ZH[bo.$type] || bo.$type.replace('bpmn:', '')) + '）';
          }
        } catch (err) { /* the registry is optional: fall back to the id */ }
      }
      return names[id] || id;
    }

    function showProblems(problems) {
      draft.problems = problems || [];
      if (editor) editor.showProblems(draft.problems);
      problemsEl.innerHTML = '';
      countEl.textContent = draft.problems.length ? '（' + draft.problems.length + '）' : '';
      if (!draft.problems.length) {
        problemsEl.appendChild(el('li', { 'class': 'ok' }, '未发现问题'));
        return;
      }
      draft.problems.forEach(function (p) {
        var li = el('li', { 'data-element-id': p.element_id || '', 'data-code': p.code || '' });
        if (p.element_id && imported) {
          var btn = el('button', { type: 'button', title: '在图中定位' }, p.message);
          btn.appendChild(el('span', { 'class': 'where' }, elementName(p.element_id)));
          btn.addEventListener('click', function () { editor.selectElement(p.element_id); });
          li.appendChild(btn);
        } else {
          li.textContent = p.message;
        }
        problemsEl.appendChild(li);
      });
    }

    function markDirty() {
      if (readonly) return;
      dirty = true;
      setState('dirty', '有未保存的修改');
      // Validate a moment after the last change (nothing is saved by it).
      if (validateTimer) clearTimeout(validateTimer);
      validateTimer = setTimeout(validateNow, 1200);
    }

    async function validateNow() {
      validateTimer = null;
      var seq = ++validateSeq;
      var xml;
      try { xml = await editor.save(); } catch (err) { return; }
      var result = await api('POST', '/api/designer/validate', { xml: xml });
      if (seq !== validateSeq || !result.ok) return; // a newer run or a save has answered since
      showProblems(result.body.problems || []);
      if (result.body.system_bound) editor.markSystemBound(result.body.system_bound);
    }

    async function save() {
      if (readonly || saving) return false;
      if (!imported) {
        setState('failed', '保存失败：流程图未能打开，请先用“上传替换”换成能打开的文件');
        return false;
      }
      saving = true;
      if (validateTimer) { clearTimeout(validateTimer); validateTimer = null; }
      validateSeq++;
      setState('', '正在保存…');
      try {
        var xml = await editor.save();
        var result = await api('PUT', '/api/designer/drafts/' + draft.id, { xml: xml, lock_version: draft.lock_version });
        if (!result.ok) {
          // A stale lock_version: someone (another tab) saved since this page loaded.
          var message = errorCode(result) === 'draft_changed' ? '草稿已在别处修改，请刷新' : errorMessage(result);
          setState('failed', '保存失败：' + message);
          return false;
        }
        draft.lock_version = result.body.lock_version;
        dirty = false;
        setState('saved', '已保存');
        showProblems(result.body.problems || []);
        if (result.body.system_bound) editor.markSystemBound(result.body.system_bound);
        return true;
      } catch (err) {
        setState('failed', '保存失败：' + (err && err.message ? err.message : '无法导出流程图'));
        return false;
      } finally {
        saving = false;
      }
    }

    async function download() {
      if (!imported) {
        // Nothing drawn to export: the file as saved on the server.
        window.location.href = '/api/designer/drafts/' + draft.id + '/download';
        return;
      }
      var xml;
      try { xml = await editor.save(); } catch (err) { setState('failed', '下载失败：' + err.message); return; }
      var blob = new Blob([xml], { type: 'application/xml' });
      var link = el('a', { href: URL.createObjectURL(blob), download: (draft.process_key || 'process') + '.bpmn' });
      document.body.appendChild(link);
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 0);
    }

    async function replaceFrom(file) {
      var text = await file.text();
      try {
        await editor.open(text);
      } catch (err) {
        setState('failed', '无法打开文件：' + (err && err.message ? err.message : file.name));
        // Put the draft back: a failed import may leave the canvas empty.
        try { await editor.open(draft.xml); } catch (ignored) { imported = false; }
        return;
      }
      imported = true;
      root.setAttribute('data-ready', '1');
      draft.xml = text;
      markDirty();
      setState('dirty', '已载入 ' + file.name + '，有未保存的修改');
    }

    async function runScenarios() {
      var panel = document.getElementById('scenario-panel');
      var list = document.getElementById('scenario-results');
      var summary = document.getElementById('scenarios-summary');
      panel.hidden = false;
      list.innerHTML = '';
      summary.textContent = '运行中…';
      var xml;
      try { xml = await editor.save(); } catch (err) { summary.textContent = err.message; return; }
      var body = { xml: xml };
      if (draft.process_key) body.process_key = draft.process_key;
      var result = await api('POST', '/api/designer/scenarios/run', body);
      if (!result.ok) {
        summary.textContent = '';
        list.appendChild(el('li', { 'class': 'fail' }, '无法运行：' + errorMessage(result)));
        return;
      }
      var results = result.body.results || [];
      var passed = results.filter(function (r) { return r.passed; }).length;
      summary.textContent = results.length ? '（' + passed + '/' + results.length + ' 通过）' : '';
      if (!results.length) {
        list.appendChild(el('li', { 'class': 'detail' }, '这个流程还没有场景测试（bpmn/scenarios/' + (draft.process_key || '…') + '/*.yaml）。'));
      }
      results.forEach(function (r) {
        var li = el('li', { 'data-passed': r.passed ? '1' : '0' });
        li.appendChild(el('span', { 'class': r.passed ? 'pass' : 'fail' }, r.passed ? '通过' : '未通过'));
        li.appendChild(document.createTextNode(' ' + r.name));
        var detail = r.message || '';
        if (!r.passed && r.expected_path && r.path) {
          detail = (detail ? detail + '；' : '') + '预期路径：' + r.expected_path.map(elementName).join(' → ') +
            '；实际路径：' + r.path.map(elementName).join(' → ');
        } else if (r.end) {
          detail = (detail ? detail + '；' : '') + '结束于 ' + elementName(r.end);
        }
        if (detail) li.appendChild(el('span', { 'class': 'detail' }, detail));
        list.appendChild(li);
      });
    }

    function openSubmitDialog() {
      var dialog = document.getElementById('submit-dialog');
      var errorBox = document.getElementById('submit-error');
      errorBox.hidden = true;
      errorBox.innerHTML = '';
      if (typeof dialog.showModal === 'function') dialog.showModal(); else dialog.setAttribute('open', '');
      document.getElementById('submit-comment').focus();
    }

    async function submit() {
      var dialog = document.getElementById('submit-dialog');
      var errorBox = document.getElementById('submit-error');
      var confirmBtn = document.getElementById('submit-confirm');
      confirmBtn.disabled = true;
      try {
        if (dirty && !(await save())) {
          errorBox.textContent = '提交前保存失败：' + stateEl.textContent.replace(/^保存失败：/, '');
          errorBox.hidden = false;
          return;
        }
        var comment = document.getElementById('submit-comment').value.trim();
        var result = await api('POST', '/api/designer/drafts/' + draft.id + '/submit', { comment: comment });
        if (!result.ok) {
          errorBox.innerHTML = '';
          errorBox.appendChild(el('div', {}, '不能提交：' + errorMessage(result)));
          var problems = errorProblems(result);
          if (problems && problems.length) {
            var ul = el('ul');
            problems.forEach(function (p) {
              ul.appendChild(el('li', {}, p.message + (p.element_id ? '（' + elementName(p.element_id) + '）' : '')));
            });
            errorBox.appendChild(ul);
            if (problems[0].element_id !== undefined) showProblems(problems);
          }
          errorBox.hidden = false;
          return;
        }
        dirty = false;
        dialog.close();
        window.location.href = '/designer/submissions/' + result.body.id;
      } finally {
        confirmBtn.disabled = false;
      }
    }

    if (!window.GovFlowModeler || typeof window.GovFlowModeler.create !== 'function') {
      setState('failed', '流程设计器未能加载，请刷新页面');
      return;
    }
    var canvas = document.getElementById('canvas');
    document.getElementById('btn-download').addEventListener('click', download);
    try {
      if (readonly) {
        // Read-only: the diff viewer with nothing changed draws the diagram without editing tools.
        await window.GovFlowModeler.drawDiff({ container: canvas, xml: draft.xml,
          diff: { added: [], removed: [], changed: [] } });
      } else {
        editor = window.GovFlowModeler.create({ container: canvas,
          propertiesPanel: document.getElementById('properties'), vocabulary: draft.vocabulary });
        window.govflowEditor = editor; // for the bench and the browser tests
        await editor.open(draft.xml);
        editor.onChange(markDirty);
        editor.markSystemBound(draft.system_bound || []);
      }
      imported = !readonly;
      root.setAttribute('data-ready', '1');
    } catch (err) {
      // The toolbar stays usable: download the saved file, or replace it with one that opens.
      setState('failed', '无法打开流程图：' + (err && err.message ? err.message : ''));
    }
    showProblems(draft.problems);
    if (readonly || !editor) return;

    document.getElementById('btn-save').addEventListener('click', save);
    document.getElementById('btn-scenarios').addEventListener('click', runScenarios);
    document.getElementById('btn-submit').addEventListener('click', openSubmitDialog);
    document.getElementById('submit-cancel').addEventListener('click', function () {
      document.getElementById('submit-dialog').close();
    });
    document.getElementById('submit-form').addEventListener('submit', function (event) {
      event.preventDefault();
      submit();
    });
    document.getElementById('upload-replace').addEventListener('change', function (event) {
      var file = event.target.files[0];
      event.target.value = '';
      if (file) replaceFrom(file);
    });
    document.addEventListener('keydown', function (event) {
      if ((event.ctrlKey || event.metaKey) && (event.key === 's' || event.key === 'S')) {
        event.preventDefault();
        save();
      }
    });
    window.addEventListener('beforeunload', function (event) {
      if (!dirty) return undefined;
      event.preventDefault();
      event.returnValue = '有未保存的修改，确定离开吗？';
      return event.returnValue;
    });
  }

  // ---- the diff pages (submission review, version view) --------------------------------------------

  async function drawDiff(canvas, xml, baseXml, diff) {
    var errorBox = document.getElementById('diff-error');
    if (!window.GovFlowModeler || typeof window.GovFlowModeler.drawDiff !== 'function') {
      errorBox.textContent = '流程图组件未能加载，请刷新页面';
      errorBox.hidden = false;
      return;
    }
    try {
      await window.GovFlowModeler.drawDiff({ container: canvas, xml: xml, baseXml: baseXml, base_xml: baseXml,
        diff: diff || { added: [], removed: [], changed: [] } });
      canvas.setAttribute('data-ready', '1');
    } catch (err) {
      errorBox.textContent = '无法显示流程图：' + (err && err.message ? err.message : '');
      errorBox.hidden = false;
    }
  }

  async function submissionPage(canvas) {
    var data = readJson('submission-data');
    await drawDiff(canvas, data.xml, data.base_xml, data.diff);
  }

  async function versionPage(canvas) {
    var data = readJson('version-data');
    var key = encodeURIComponent(data.process_key);
    var errorBox = document.getElementById('diff-error');
    var response = await fetch('/api/processes/' + key + '/versions/' + data.version + '/bpmn',
      { credentials: 'same-origin' });
    if (!response.ok) {
      errorBox.textContent = '无法读取该版本的流程文件（HTTP ' + response.status + '）';
      errorBox.hidden = false;
      return;
    }
    var xml = await response.text();
    var baseXml = null;
    var diff = null;
    if (data.version > 1) {
      var prev = await fetch('/api/processes/' + key + '/versions/' + (data.version - 1) + '/bpmn',
        { credentials: 'same-origin' });
      var d = await api('GET', '/api/designer/processes/' + key + '/diff?from_version=' + (data.version - 1) +
        '&to_version=' + data.version);
      if (prev.ok && d.ok) {
        baseXml = await prev.text();
        diff = d.body;
      }
    }
    await drawDiff(canvas, xml, baseXml, diff);
  }

  /* A hidden file input inside a styled label shows the chosen file's name beside it. */
  function wireFileNames() {
    document.querySelectorAll('input[type="file"][data-file-name]').forEach(function (input) {
      input.addEventListener('change', function () {
        var target = document.getElementById(input.getAttribute('data-file-name'));
        if (target) target.textContent = input.files.length ? input.files[0].name : '未选择文件';
      });
    });
  }

  function start() {
    wireConfirmations();
    wireFileNames();
    var root = document.getElementById('designer');
    if (root) { modelerPage(root); return; }
    var canvas = document.getElementById('diff-canvas');
    if (canvas && document.getElementById('submission-data')) submissionPage(canvas);
    else if (canvas && document.getElementById('version-data')) versionPage(canvas);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
