"""The task page's form without a browser: a refused answer keeps the input beside its field, the form's
address never gives a 405, and the catalog review is answered as a table (the API still takes JSON)."""

from __future__ import annotations

import re

from tests.api.helpers import review_task, submit
from tests.catalog.helpers import add, new_draft
from tests.catalog.helpers import submit as submit_version
from tests.web.test_pages import _csrf, _login


def test_a_refused_answer_keeps_the_input_and_the_form_address_leads_back(client, as_user) -> None:
    task = review_task(as_user("gat_reviewer"), submit(as_user("rst_clerk"))["instance_id"])
    as_user("gat_reviewer").post(f"/api/tasks/{task['id']}/claim")
    pages = _login(client.app, "gat_reviewer")
    token = _csrf(pages.get(f"/tasks/{task['id']}").text)
    r = pages.post(f"/tasks/{task['id']}/complete",
                   data={"csrf_token": token, "decision": "refuse", "reason": "用途与数据无关"})
    assert r.status_code == 422
    assert "用途与数据无关</textarea>" in r.text  # what was typed is still there
    assert 'data-code="refusal_basis_required"' in r.text and ">refusal_basis_required<" not in r.text
    # The message stands right under the field it is about, which gets the focus.
    assert re.search(r'name="legal_basis" aria-invalid="true" autofocus></textarea>\s*'
                     r'<div class="error">不同意共享时必须提供依据（第十六条）</div>', r.text)
    assert f'history.replaceState(null, "", "/tasks/{task["id"]}")' in r.text
    again = pages.get(f"/tasks/{task['id']}/complete")
    assert again.status_code == 303 and again.headers["location"] == f"/tasks/{task['id']}"
    # Someone who may not see the task learns nothing from the form's address either.
    assert _login(client.app, "scjg_reviewer").get(f"/tasks/{task['id']}/complete").status_code == 404


def test_the_catalog_review_is_answered_as_a_table(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    add(clerk, vid)
    add(clerk, vid, code="410000-gat-0101", name="机动车驾驶证信息")
    submit_version(clerk, vid)
    reviewer = as_user("data_reviewer")
    [task] = [t for t in reviewer.get("/api/tasks").json()["items"] if t["name"] == "审定政务数据资源目录"]
    reviewer.post(f"/api/tasks/{task['id']}/claim")
    pages = _login(client.app, "data_reviewer")
    page = pages.get(f"/tasks/{task['id']}").text
    assert 'name="decisions.410000-gat-0100.decision" value="approve"' in page and "机动车驾驶证信息" in page
    assert '<textarea id="f_decisions"' not in page
    token = _csrf(page)
    # One row left undecided: refused, naming it, the other row's choice kept.
    r = pages.post(f"/tasks/{task['id']}/complete",
                   data={"csrf_token": token, "decisions.410000-gat-0100.decision": "approve",
                         "decisions.410000-gat-0100.comment": ""})
    assert r.status_code == 422 and "以下条目尚未审定：410000-gat-0101" in r.text
    assert 'value="approve" checked' in r.text
    r = pages.post(f"/tasks/{task['id']}/complete",
                   data={"csrf_token": token, "decisions.410000-gat-0100.decision": "approve",
                         "decisions.410000-gat-0101.decision": "return",
                         "decisions.410000-gat-0101.comment": "名称应与证照目录一致", "comment": "请修改后重报"})
    assert r.status_code == 303, r.text
    version = clerk.get(f"/api/catalog/versions/{vid}").json()
    assert version["status"] == "returned"
    decided = {e["code"]: (e["decision"], e["comment"]) for e in version["entries"]}
    assert decided["410000-gat-0100"] == ("approve", None)
    assert decided["410000-gat-0101"] == ("return", "名称应与证照目录一致")
