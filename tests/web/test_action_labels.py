"""Every audit action the service writes has a Chinese name in the histories (流转记录)."""

import re
from pathlib import Path

from app.audit.labels import ACTION_ZH, action_label

APP = Path(__file__).resolve().parents[2] / "app"
# action="area.verb" passed to audit.append, and the names a flow picks from a mapping ("area.verb").
LITERAL = re.compile(r'"((?:[a-z_]+)\.(?:[a-z_]+))"')
AREAS = ("instance", "task", "process", "timer", "supervision", "share_request", "share_grant", "catalog_entry",
         "catalog_version", "catalog_update", "catalog_update_duty", "open_list", "dispute", "rectification",
         "attachment", "calendar", "department", "user", "demo", "document", "signing_key", "crypto",
         "attachments", "audit", "external_task")


def _written_actions() -> set[str]:
    found: set[str] = set()
    for path in APP.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "audit.append" not in text and "action" not in text:
            continue
        for name in LITERAL.findall(text):
            if name.split(".")[0] in AREAS and "action" in text:
                found.add(name)
    return found


def test_every_action_written_has_a_chinese_name() -> None:
    written = {a for a in _written_actions() if not a.startswith("dispute.id")}
    assert len(written) > 60  # the scan sees the service's actions
    missing = sorted(a for a in written if a not in ACTION_ZH)
    assert not missing, f"audit actions without a Chinese name: {missing}"


def test_unknown_action_shows_its_code() -> None:
    assert action_label("task.created") == "生成待办"
    assert action_label("something.new") == "something.new"


def test_histories_name_people_and_steps_in_chinese(app, client, as_user) -> None:  # type: ignore[no-untyped-def]
    from tests.api.helpers import review_task, submit
    from tests.web.test_pages import _login

    clerk, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    request = submit(clerk)
    task = review_task(reviewer, request["instance_id"])
    history = reviewer.get(f"/api/instances/{request['instance_id']}").json()["history"]
    assert {h["actor_name"] for h in history if h["actor"] == "rst_clerk"} == {"李明（省人社厅经办人）"}
    page = _login(app, "gat_reviewer").get(f"/tasks/{task['id']}").text
    assert "流转记录" in page and "李明（省人社厅经办人）" in page and "生成待办" in page
    assert "task.created" not in page
