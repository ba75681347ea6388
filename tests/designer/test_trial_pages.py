"""The trial pages: a designer starts a trial from a form, acts a task as a role, sees errors readably."""

from __future__ import annotations

import json

from tests.designer.trial_helpers import SHARE_VARIABLES
from tests.web.test_pages import _csrf, _login


def test_start_act_and_discard_from_the_pages(app, client) -> None:  # type: ignore[no-untyped-def]
    page = _login(app, "designer")
    listing = page.get("/designer/trials")
    assert listing.status_code == 200 and "启动试运行" in listing.text and "还没有试运行" in listing.text
    r = page.post("/designer/trials", data={"csrf_token": _csrf(listing.text), "process_key": "sharing_share_request",
                                            "version": "", "variables": json.dumps(SHARE_VARIABLES)})
    assert r.status_code == 303
    url = r.headers["location"]
    trial = page.get(url)
    assert trial.status_code == 200
    assert "试运行已启动" in trial.text and "以此角色办理" in trial.text and "审核人（reviewer）" in trial.text
    action = [line for line in trial.text.splitlines() if "/tasks/" in line and "complete" in line][0]
    action = action.split('action="')[1].split('"')[0]
    # A wrong role: the page shows the allowed roles in Chinese and keeps what was typed.
    r = page.post(action, data={"csrf_token": _csrf(trial.text), "role": "clerk", "decision": "approve",
                                "terms": "只用于试运行"})
    assert r.status_code == 422 and "可选角色：审核人（reviewer）" in r.text and "只用于试运行" in r.text
    r = page.post(action, data={"csrf_token": _csrf(trial.text), "role": "reviewer", "decision": "approve",
                                "terms": "只用于试运行"})
    assert r.status_code == 303
    done = page.get(url).text
    # Granted: the trial now waits at the exchange platform's external task (no worker takes a trial's).
    assert "已以审核人（reviewer）身份办理" in done and "环节：共享交换系统开通授权" in done
    listing = page.get("/designer/trials").text
    assert "sharing_share_request" in listing


def test_bad_variables_are_shown_readably(app, client) -> None:  # type: ignore[no-untyped-def]
    page = _login(app, "designer")
    token = _csrf(page.get("/designer/trials").text)
    r = page.post("/designer/trials", data={"csrf_token": token, "process_key": "sharing_share_request",
                                            "version": "", "variables": "{share_type: 1"})
    assert r.status_code == 422 and "流程变量不是有效的 JSON" in r.text and "{share_type: 1" in r.text
    r = page.post("/designer/trials", data={"csrf_token": token, "process_key": "sharing_share_request",
                                            "version": "9", "variables": ""})
    assert r.status_code == 404 and "没有第 9 版" in r.text


def test_staff_cannot_open_the_trial_pages(app, client) -> None:  # type: ignore[no-untyped-def]
    page = _login(app, "gat_reviewer")
    assert page.get("/designer/trials").status_code == 403


def test_the_workspace_link_preselects_process_and_version_but_shows_no_url_text(app, client) -> None:  # type: ignore[no-untyped-def]
    page = _login(app, "designer")
    html = page.get("/designer/trials?process_key=sharing_share_request&version=1").text
    assert 'value="sharing_share_request" selected' in html
    assert 'data-process="sharing_share_request" selected' in html
    # An unknown key selects nothing and is never echoed into the page.
    html = page.get("/designer/trials?process_key=%3Cb%3E%E4%BC%AA%E9%80%A0%3C%2Fb%3E&version=9").text
    assert "伪造" not in html and " selected" not in html.split('id="process_key"')[1].split("</select>")[0]
