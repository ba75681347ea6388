"""Every shipped process's scenarios pass on the real engine and sandbox, together they take every gateway
branch and boundary timer, and a broken draft makes a scenario fail with a message a designer can read."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.designer import scenarios

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = sorted(p.stem for p in (ROOT / "bpmn").glob("*.bpmn"))
FILES = sorted((ROOT / "bpmn" / "scenarios").glob("*/*.yaml"))


def _xml(process_key: str) -> bytes:
    return (ROOT / "bpmn" / f"{process_key}.bpmn").read_bytes()


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def test_shipped_scenario_passes(path: Path) -> None:
    scenario = scenarios.load_file(path)
    result = scenarios.run_scenario(_xml(path.parent.name), scenario)
    assert result["passed"], f"{path.parent.name}/{path.name}: {result['message']}"
    assert result["path"] == result["expected_path"] or "path" not in scenario["expect"]


def test_every_shipped_process_has_scenarios_and_no_folder_is_orphaned() -> None:
    folders = sorted(p.name for p in (ROOT / "bpmn" / "scenarios").iterdir() if p.is_dir())
    assert folders == PROCESSES


@pytest.mark.parametrize("process_key", PROCESSES)
def test_scenarios_take_every_gateway_branch_and_timer(process_key: str) -> None:
    xml = _xml(process_key)
    results = scenarios.run_all(xml, process_key)
    uncovered = sorted(set(scenarios.gateway_flows(xml)) - scenarios.taken_flows(xml, results))
    assert not uncovered, f"{process_key}: no scenario takes the flows {uncovered}"


def test_coverage_notices_a_branch_no_scenario_takes() -> None:
    xml = _xml("sharing_share_request")
    results = [r for r in scenarios.run_all(xml, "sharing_share_request") if r["end"] != "refused"]
    assert sorted(set(scenarios.gateway_flows(xml)) - scenarios.taken_flows(xml, results)) == ["flow_not_shared"]
    timers = scenarios.gateway_flows(_xml("disputes_share_dispute"))
    assert timers["flow_expired"][0] == "negotiation_expired"  # boundary timers count as branches


def test_a_changed_condition_fails_a_scenario_readably() -> None:
    xml = _xml("sharing_share_request").replace(b'share_type == "unconditional"', b'share_type == "free"')
    results = {r["name"]: r for r in scenarios.run_all(xml, "sharing_share_request")}
    broken = results["无条件共享：立即授权"]
    assert not broken["passed"]
    # The unconditional request now waits at review instead of reaching the exchange platform's task.
    assert broken["message"] == "第 1 步：期望外部任务 hand_over 在等待外部系统，实际等待的外部任务：无"
    assert all(r["passed"] for name, r in results.items() if name != "无条件共享：立即授权")


def test_a_renamed_task_fails_at_its_step() -> None:
    xml = _xml("open_data_open_list_review").replace(b'id="revise"', b'id="amend"') \
        .replace(b'targetRef="revise"', b'targetRef="amend"').replace(b'sourceRef="revise"', b'sourceRef="amend"')
    result = scenarios.run_scenario(xml, scenarios.load_file(
        ROOT / "bpmn/scenarios/open_data_open_list_review/02_returned_then_approved.yaml"))
    assert not result["passed"]
    assert result["message"] == "第 2 步：期望任务 revise 就绪，实际就绪的是 amend"
    assert result["path"] == ["review"]


def test_form_data_is_validated_like_a_real_submission() -> None:
    scenario = {"name": "缺少必填项", "start": {"share_type": "conditional", "items": ["姓名"]},
                "steps": [{"task": "review", "role": "reviewer", "data": {"terms": "x"}}],
                "expect": {"end": "replied"}}
    result = scenarios.run_scenario(_xml("sharing_share_request"), scenario)
    assert not result["passed"]
    assert result["message"].startswith("第 1 步：任务 review 的表单数据未通过校验：表单数据有误：")
    assert "为必填项" in result["message"]


def test_a_role_that_is_not_a_candidate_fails() -> None:
    scenario = {"name": "错误角色", "start": {"share_type": "conditional", "items": ["姓名"]},
                "steps": [{"task": "review", "role": "clerk", "data": {"decision": "approve", "terms": "x"}}],
                "expect": {"end": "replied"}}
    result = scenarios.run_scenario(_xml("sharing_share_request"), scenario)
    assert result["message"] == "第 1 步：角色 clerk 不能办理任务 review（候选角色：reviewer）"


def test_scripts_run_in_the_sandbox() -> None:
    path = ROOT / "bpmn/scenarios/sharing_share_request/01_unconditional.yaml"
    hostile = _xml("sharing_share_request").replace(
        b'outcome = "granted"', b'outcome = ().__class__.__base__.__subclasses__()')
    result = scenarios.run_scenario(hostile, scenarios.load_file(path))
    assert not result["passed"] and result["message"].startswith("流程定义未通过检查：")
    assert "grant_at_once" in result["message"]
    failing = _xml("sharing_share_request").replace(b'outcome = "granted"', b'outcome = items[7]')
    result = scenarios.run_scenario(failing, scenarios.load_file(path))
    assert not result["passed"] and result["message"].startswith("启动时流程出错：")
    assert "grant_at_once" in result["message"]


def test_a_malformed_scenario_is_reported_not_raised(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: 坏场景\nsteps: [{task: review, timer: t}]\nexpect: {end: x}\n", encoding="utf-8")
    with pytest.raises(scenarios.ScenarioError, match="必须且只能写 task"):
        scenarios.load_file(bad)
    bad.write_text("!!python/object/apply:os.system ['true']\n", encoding="utf-8")
    with pytest.raises(scenarios.ScenarioError, match="不是有效的 YAML"):
        scenarios.load_file(bad)
