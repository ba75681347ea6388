"""Every form control a person reads on the translated pages has a label a screen reader announces."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from lxml import html

from tests.disputes.helpers import open_dispute, refused_request
from tests.open_data.helpers import YEAR, drafted, new_list
from tests.rectification.helpers import issue
from tests.web.test_pages import _csrf, _login

UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


def unlabelled(page: str) -> list[str]:
    """Return the controls of a page with no <label>, aria-label, aria-labelledby or title."""
    doc = html.fromstring(page)
    labelled_ids = {label.get("for") for label in doc.iter("label") if label.get("for")}
    missing = []
    for control in doc.xpath("//input | //select | //textarea"):
        if control.tag == "input" and (control.get("type") or "text").lower() in UNLABELLED_TYPES:
            continue
        if (control.get("aria-label") or control.get("aria-labelledby") or control.get("title")
                or (control.get("id") and control.get("id") in labelled_ids)
                or any(a.tag == "label" for a in control.iterancestors())):
            continue
        missing.append(f"{control.tag} name={control.get('name')}")
    return missing


def test_no_control_without_a_label_on_the_translated_pages(client, as_user) -> None:
    listed = drafted(as_user("gat_clerk"))
    empty = new_list(as_user("gat_clerk"), YEAR - 1)  # every entry still a candidate: the item form is offered
    notice = issue(as_user("data_reviewer"))
    dispute = open_dispute(as_user("rst_clerk"), refused_request(as_user)["id"])
    another_refusal = refused_request(as_user)["id"]
    pages = {
        None: ["/login", "/open-data", "/open-data/restricted"],
        "demo_admin": ["/tasks", "/admin/calendar", "/supervision", "/supervision/stats", "/authority",
                       "/designer", "/designer/submissions", "/designer/trials", "/rectification/authorities"],
        "gat_clerk": ["/open-lists", f"/open-lists/{listed['id']}", f"/open-lists/{empty['id']}"],
        "data_reviewer": ["/rectification-notices", "/rectification-notices/new",
                          f"/rectification-notices/{notice['id']}", f"/disputes/{dispute['id']}"],
        "rst_clerk": ["/disputes", f"/disputes/new?share_request_id={another_refusal}", f"/rectification-notices/{notice['id']}",
                      f"/rectification-notices/{notice['id']}/print"],
    }
    found: dict[str, list[str]] = {}
    # Both languages: the English pages must render too (a translation that breaks a page shows here).
    for language in ("zh", "en"):
        for username, urls in pages.items():
            if username:
                reader = _login(client.app, username)
                token = _csrf(reader.get("/tasks").text)
                assert reader.post("/me/language", data={"csrf_token": token, "language": language}).status_code == 303
            else:
                reader = TestClient(client.app, follow_redirects=False, headers={"Accept-Language": language})
            for url in list(urls):
                r = reader.get(url)
                assert r.status_code == 200, (language, username, url, r.status_code)
                # A printed notice is the official Chinese document (公文) whatever the reader's language.
                official = url.endswith("/print")
                assert f'lang="{"en" if language == "en" and not official else "zh-CN"}"' in r.text
                if missing := unlabelled(r.text):
                    found[f"{username} {url}"] = missing
                # The item form is reached from the list's page, for one of the department's entries.
                for form in html.fromstring(r.text).xpath("//form[contains(@action, '/items/new')]"):
                    for entry in form.xpath(".//select[@name='entry_code']/option/@value")[:1]:
                        if f"{form.get('action')}?entry_code={entry}" not in urls:
                            urls.append(f"{form.get('action')}?entry_code={entry}")
    assert f"/open-lists/{empty['id']}/items/new" in " ".join(pages["gat_clerk"])
    assert not found, "\n".join(f"{page}: {', '.join(c)}" for page, c in found.items())


def test_the_scan_finds_an_unlabelled_control() -> None:
    assert unlabelled('<form><label for="a">名称</label><input id="a"><input name="b"></form>') == ["input name=b"]
    assert unlabelled('<label>名称 <select name="c"></select></label><textarea aria-label="说明"></textarea>') == []


def test_no_control_without_a_label_on_the_designer_pages(client, as_user) -> None:
    import json

    from tests.designer.helpers import deploy, new_draft, one_task, submit_draft
    from tests.designer.trial_helpers import SHARE_VARIABLES

    designer, admin = as_user("designer"), as_user("demo_admin")
    version = deploy(designer, admin, one_task("i18n_scan"))
    draft = new_draft(designer, one_task("i18n_scan", name="试验流程二"))
    submission = submit_draft(designer, new_draft(designer, one_task("i18n_other"))["id"])
    found: dict[str, list[str]] = {}
    for language in ("zh", "en"):
        page = _login(client.app, "designer")
        token = _csrf(page.get("/designer").text)
        assert page.post("/me/language", data={"csrf_token": token, "language": language}).status_code == 303
        started = page.post("/designer/trials", data={
            "csrf_token": token, "process_key": "sharing_share_request", "version": "",
            "variables": json.dumps(SHARE_VARIABLES)})
        assert started.status_code == 303
        for url in ("/designer", f"/designer/drafts/{draft['id']}", f"/designer/submissions/{submission['id']}",
                    f"/designer/processes/i18n_scan/versions/{version}", "/designer/processes/i18n_scan/migrate",
                    "/designer/trials", started.headers["location"]):
            r = page.get(url)
            assert r.status_code == 200, (language, url, r.status_code)
            assert f'lang="{"en" if language == "en" else "zh-CN"}"' in r.text
            if missing := unlabelled(r.text):
                found[f"{language} {url}"] = missing
    assert not found, "\n".join(f"{page}: {', '.join(c)}" for page, c in found.items())


def test_no_control_without_a_label_on_the_approval_desk_and_catalog_pages(client, as_user) -> None:
    """The inbox (all four tabs), a task with its actions, the desk settings, messages, sharing and catalogue."""
    from tests.api.helpers import CONDITIONAL, review_task, submit
    from tests.catalog.helpers import add, new_draft
    from tests.catalog.helpers import submit as submit_version

    request = submit(as_user("rst_clerk"))
    task = review_task(as_user("gat_reviewer"), request["instance_id"])
    assert as_user("gat_reviewer").post(f"/api/tasks/{task['id']}/claim").status_code == 200  # all actions show
    submitted = new_draft(as_user("gat_clerk"))
    add(as_user("gat_clerk"), submitted["id"])
    submit_version(as_user("gat_clerk"), submitted["id"])
    draft = new_draft(as_user("scjg_clerk"))
    inbox = [f"/tasks?view={view}" for view in ("todo", "done", "initiated", "cc")]
    pages = {
        "gat_reviewer": [*inbox, f"/tasks/{task['id']}", "/settings/deputy", "/me/phrases", "/notifications",
                         f"/share-requests/{request['id']}", "/share-requests"],
        "rst_clerk": [*inbox, f"/share-requests/new?entry_code={CONDITIONAL}", f"/share-requests/{request['id']}"],
        "gat_clerk": ["/catalog", "/catalog/versions", f"/catalog/versions/{submitted['id']}"],
        "scjg_clerk": [f"/catalog/versions/{draft['id']}", f"/catalog/versions/{draft['id']}/entries/new"],
        "data_reviewer": ["/catalog/updates", f"/catalog/versions/{submitted['id']}"],
    }
    found: dict[str, list[str]] = {}
    for language in ("zh", "en"):
        for username, urls in pages.items():
            reader = _login(client.app, username)
            token = _csrf(reader.get("/tasks").text)
            assert reader.post("/me/language", data={"csrf_token": token, "language": language}).status_code == 303
            for url in urls:
                r = reader.get(url)
                assert r.status_code == 200, (language, username, url, r.status_code)
                assert f'lang="{"en" if language == "en" else "zh-CN"}"' in r.text
                if missing := unlabelled(r.text):
                    found[f"{language} {username} {url}"] = missing
    # The scan really saw the task's action forms and the catalogue's review form.
    task_page = _login(client.app, "gat_reviewer").get(f"/tasks/{task['id']}").text
    assert 'id="return_reason"' in task_page or 'id="supplement_reason"' in task_page
    assert not found, "\n".join(f"{page}: {', '.join(c)}" for page, c in found.items())
