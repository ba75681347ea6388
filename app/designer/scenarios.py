"""Scenario tests beside each BPMN file (bpmn/scenarios/<process_key>/*.yaml), run on the real engine.

A scenario starts the process with variables, works its user tasks one by one as a role with form data
(validated by app.engine.forms exactly like a real submission), optionally lets a timer fire, and states
the path of user tasks it expects and the end event reached (or the tasks still waiting). No database:
the XML is compiled and run by app.engine.core.Engine, with the real script sandbox; the state is saved
and restored between steps, as the runner does between requests.

The format is described in bpmn/scenarios/README.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from lxml import etree

from app.core.errors import DomainError
from app.engine import forms
from app.engine.bpmn import compile_definition, parse_instant, use_now
from app.engine.core import Engine
from app.engine.errors import EngineFault

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_DIR = ROOT / "bpmn" / "scenarios"
# The instant a scenario starts at (a working Monday, Beijing time) unless it names one (`at`).
DEFAULT_START = "2026-11-02T09:00:00+08:00"
_B = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
_STEP_KEYS = {"task", "role", "data", "system_data", "timer", "external", "error"}
_TOP_KEYS = {"name", "description", "at", "start", "steps", "expect"}

_engine: Engine | None = None
_engine_lock = threading.Lock()


class ScenarioError(ValueError):
    """A scenario file that does not follow the format (its message is Chinese)."""


def engine() -> Engine:
    """Return the engine scenarios run on (one per process: its sandbox workers are shared)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = Engine()
        return _engine


# ---- loading ----------------------------------------------------------------------------------------------


def scenario_dir(process_key: str) -> Path:
    """Return the folder of a process's scenarios (the key is checked: no path may escape the folder)."""
    if not process_key or not all(c.isalnum() or c in "_-" for c in process_key):
        raise ScenarioError(f"流程标识“{process_key[:60]}”无效")
    return SCENARIO_DIR / process_key


def load_scenarios(process_key: str) -> list[dict[str, Any]]:
    """Load and check every scenario of a process, in file-name order; each gets its `file` name."""
    folder = scenario_dir(process_key)
    if not folder.is_dir():
        return []
    return [load_file(path) for path in sorted(folder.glob("*.yaml"))]


def load_file(path: Path) -> dict[str, Any]:
    """Load one scenario file (yaml.safe_load) and check its shape."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path.name}：不是有效的 YAML：{exc}") from None
    try:
        scenario = check(raw)
    except ScenarioError as exc:
        raise ScenarioError(f"{path.name}：{exc}") from None
    scenario["file"] = path.name
    return scenario


def check(raw: Any) -> dict[str, Any]:
    """Check a scenario's shape and return it normalised; raise ScenarioError naming what is wrong."""
    if not isinstance(raw, dict):
        raise ScenarioError("场景必须是一个映射（name、start、steps、expect）")
    unknown = sorted(set(map(str, raw)) - _TOP_KEYS)
    if unknown:
        raise ScenarioError(f"未知的键：{'、'.join(unknown)}（可用：{'、'.join(sorted(_TOP_KEYS))}）")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError("缺少场景名称 name")
    start = raw.get("start") or {}
    if not isinstance(start, dict):
        raise ScenarioError("start 必须是流程变量的映射")
    steps = raw.get("steps") or []
    if not isinstance(steps, list):
        raise ScenarioError("steps 必须是列表")
    for i, step in enumerate(steps, 1):
        if not isinstance(step, dict):
            raise ScenarioError(f"第 {i} 步必须是映射（task/role/data 或 timer）")
        extra = sorted(set(map(str, step)) - _STEP_KEYS)
        if extra:
            raise ScenarioError(f"第 {i} 步有未知的键：{'、'.join(extra)}")
        if sum(key in step for key in ("task", "timer", "external")) != 1:
            raise ScenarioError(f"第 {i} 步必须且只能写 task（办理任务）、timer（定时器触发）"
                                "或 external（外部系统完成外部任务）之一")
        for key in ("data", "system_data"):
            if not isinstance(step.get(key) or {}, dict):
                raise ScenarioError(f"第 {i} 步的 {key} 必须是映射")
    expect = raw.get("expect")
    if not isinstance(expect, dict) or not ({"end", "waiting"} & set(expect)):
        raise ScenarioError("expect 必须写明 end（到达的结束事件）或 waiting（仍在等待的任务）")
    if "path" in expect and not isinstance(expect["path"], list):
        raise ScenarioError("expect.path 必须是任务标识的列表")
    if "waiting" in expect and not isinstance(expect["waiting"], list):
        raise ScenarioError("expect.waiting 必须是任务标识的列表")
    at = raw.get("at", DEFAULT_START)
    try:
        parse_instant(str(at))
    except ValueError:
        raise ScenarioError(f"at 不是有效的 ISO 8601 时间：{at}") from None
    return {"name": name.strip(), "description": str(raw.get("description") or ""), "at": str(at),
            "start": start, "steps": steps, "expect": expect}


# ---- running ----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Run:
    path: list[str] = dataclasses.field(default_factory=list)
    step: int = 0  # the step being performed (0: starting)
    pairs: set[tuple[str, str]] = dataclasses.field(default_factory=set)


def run_all(xml: bytes, process_key: str) -> list[dict[str, Any]]:
    """Run every scenario of a process against the given XML; a file that cannot be read is a failure."""
    try:
        scenarios = load_scenarios(process_key)
    except ScenarioError as exc:
        return [_result("（场景文件）", False, [], [], None, str(exc))]
    return [run_scenario(xml, s) for s in scenarios]


def run_scenario(xml: bytes, scenario: dict[str, Any]) -> dict[str, Any]:
    """Run one scenario against the given XML and compare; return the outcome with a Chinese message."""
    try:
        sc = check({k: v for k, v in scenario.items() if k != "file"})
    except ScenarioError as exc:
        return _result(str(scenario.get("name") or scenario.get("file") or "?"), False, [], [], None, str(exc))
    expect = sc["expect"]
    expected_path = [str(t) for t in expect.get("path") or []]
    run = _Run()
    try:
        described, _, _ = compile_definition(xml)
    except DomainError as exc:
        return _result(sc["name"], False, [], expected_path, None, exc.message_zh)
    metas = json.loads(json.dumps({k: dataclasses.asdict(v) for k, v in described.user_tasks.items()},
                                  default=list))
    eng = engine()
    content_hash = hashlib.sha256(xml).hexdigest()
    now = parse_instant(sc["at"])
    workflow: Any = None
    end: str | None = None
    try:
        with use_now(now):
            workflow = eng.start(content_hash, xml, sc["start"])
        run.pairs |= eng.reached_pairs(workflow)
        for i, step in enumerate(sc["steps"], 1):
            run.step = i
            problem, now = _step(eng, workflow, metas, step, i, now, run)
            if problem:
                return _result(sc["name"], False, run.path, expected_path, eng.end_event(workflow), problem, run)
            run.pairs |= eng.reached_pairs(workflow)
            # Saved and restored between steps, as between two requests of the service.
            workflow = eng.restore(eng.dump(workflow), content_hash, xml)
        end = eng.end_event(workflow)
    except (DomainError, EngineFault) as exc:
        message = exc.message_zh if isinstance(exc, DomainError) else str(exc)
        where = f"第 {run.step} 步：" if run.step else "启动时"
        return _result(sc["name"], False, run.path, expected_path, eng.end_event(workflow) if workflow else None,
                       f"{where}流程出错：{message}", run)
    problems = []
    if "path" in expect and run.path != expected_path:
        problems.append(f"办理路径不符：期望 {_ids(expected_path)}，实际 {_ids(run.path)}")
    if "end" in expect:
        if end is None:
            waiting = _waiting_now(eng, workflow)
            problems.append(f"期望到达结束事件 {expect['end']}，实际流程未结束，仍在等待 {_ids(waiting)}")
        elif end != str(expect["end"]):
            problems.append(f"期望到达结束事件 {expect['end']}，实际到达 {end}")
    if "waiting" in expect:
        waiting = sorted(_waiting_now(eng, workflow))
        wanted = sorted(str(t) for t in expect["waiting"])
        if end is not None:
            problems.append(f"期望仍在等待 {_ids(wanted)}，实际流程已结束于 {end}")
        elif waiting != wanted:
            problems.append(f"期望仍在等待 {_ids(wanted)}，实际等待 {_ids(waiting)}")
    return _result(sc["name"], not problems, run.path, expected_path, end,
                   "；".join(problems) if problems else "通过", run)


def _step(eng: Engine, workflow: Any, metas: dict[str, Any], step: dict[str, Any], i: int, now: datetime,
          run: _Run) -> tuple[str | None, datetime]:
    """Perform one step; return (a Chinese problem or None, the scenario's clock after the step)."""
    if "external" in step:
        return _external_step(eng, workflow, step, i, now, run), now
    if "timer" in step:
        timer = str(step["timer"])
        waiting = eng.waiting_timers(workflow)
        if timer not in waiting:
            shown = _ids(sorted(waiting)) if waiting else "无"
            return f"第 {i} 步：期望定时器 {timer} 在等待，实际等待的定时器：{shown}", now
        due = waiting[timer]
        now = max(now, due) if due is not None else now
        eng.fire_timers(workflow, now)
        if timer in eng.waiting_timers(workflow) and not eng.timer_fired(workflow, timer):
            return f"第 {i} 步：定时器 {timer} 到期后未触发", now
        return None, now
    task_id = str(step["task"])
    ready = eng.ready_user_tasks(workflow)
    found = next((t for t in ready if t.task_spec == task_id), None)
    if found is None:
        actual = _ids([t.task_spec for t in ready]) if ready else (
            f"无（流程已结束于 {eng.end_event(workflow)}）" if eng.is_completed(workflow) else "无")
        return f"第 {i} 步：期望任务 {task_id} 就绪，实际就绪的是 {actual}", now
    meta = metas.get(task_id, {})
    roles = [str(r) for r in meta.get("candidate_groups") or []]
    role = step.get("role")
    if role is not None and roles and str(role) not in roles:
        return f"第 {i} 步：角色 {role} 不能办理任务 {task_id}（候选角色：{'、'.join(roles)}）", now
    fields = forms.resolve_form(meta.get("form") or [], found.data)
    try:
        clean = forms.validate(fields, step.get("data") or {})
    except DomainError as exc:
        return f"第 {i} 步：任务 {task_id} 的表单数据未通过校验：{exc.message_zh}", now
    # What the system's own code adds on submit (an area's task validator), stated by the scenario.
    clean.update(step.get("system_data") or {})
    with use_now(now):
        eng.complete_user_task(workflow, found.id, clean)
    run.path.append(task_id)
    return None, now


def _external_step(eng: Engine, workflow: Any, step: dict[str, Any], i: int, now: datetime, run: _Run) -> str | None:
    """An outside system's worker completes an external task (with `data` as its variables), or raises the
    BPMN error `error` on it."""
    element = str(step["external"])
    ready = eng.ready_external_tasks(workflow)
    found = next((t for t in ready if t.element == element), None)
    if found is None:
        actual = _ids([t.element for t in ready]) if ready else "无"
        return f"第 {i} 步：期望外部任务 {element} 在等待外部系统，实际等待的外部任务：{actual}"
    with use_now(now):
        if step.get("error"):
            eng.external_task_error(workflow, found.id, str(step["error"]), "", dict(step.get("data") or {}))
        else:
            eng.complete_external_task(workflow, found.id, dict(step.get("data") or {}))
    run.path.append(element)
    return None


def _waiting_now(eng: Engine, workflow: Any) -> list[str]:
    """What the instance waits for: its user tasks and its external tasks, by element id."""
    return [t.task_spec for t in eng.ready_user_tasks(workflow)] + \
        [t.element for t in eng.ready_external_tasks(workflow)]


def _ids(ids: list[str]) -> str:
    return "、".join(ids) if ids else "（无）"


def _result(name: str, passed: bool, path: list[str], expected_path: list[str], end: str | None,
            message: str, run: _Run | None = None) -> dict[str, Any]:
    return {"name": name, "passed": passed, "path": list(path), "expected_path": list(expected_path),
            "end": end, "message": message, "pairs": sorted(run.pairs) if run else []}


# ---- coverage ---------------------------------------------------------------------------------------------


def gateway_flows(xml: bytes) -> dict[str, tuple[str, str, str]]:
    """Return every outgoing sequence flow of every exclusive or inclusive gateway, and every flow leaving
    a boundary timer: {flow id: (gateway or timer id, source id, target id)}."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    root = etree.fromstring(xml, parser)
    flows = {f.get("id"): f for f in root.iter(f"{_B}sequenceFlow")}
    out: dict[str, tuple[str, str, str]] = {}
    for tag in ("exclusiveGateway", "inclusiveGateway", "boundaryEvent"):
        for el in root.iter(f"{_B}{tag}"):
            if tag == "boundaryEvent" and el.find(f"{_B}timerEventDefinition") is None:
                continue
            for outgoing in el.iterfind(f"{_B}outgoing"):
                flow = flows.get((outgoing.text or "").strip())
                if flow is not None:
                    out[flow.get("id")] = (el.get("id"), flow.get("sourceRef"), flow.get("targetRef"))
    return out


def taken_flows(xml: bytes, results: list[dict[str, Any]]) -> set[str]:
    """Return the gateway and timer flows some passing scenario took (source followed by target)."""
    pairs = {tuple(p) for r in results if r["passed"] for p in r.get("pairs") or []}
    return {flow for flow, (_, source, target) in gateway_flows(xml).items() if (source, target) in pairs}


def forget(xml: bytes) -> None:
    """Drop a draft's parsed spec from the scenario engine's cache (drafts change with every save)."""
    engine().forget(hashlib.sha256(xml).hexdigest())
