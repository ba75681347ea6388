"""Small factories for the authority console tests: cases of the province and of Zhengzhou."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import DEMO_PASSWORD
from tests.disputes.helpers import NOT_SHARE, open_dispute, refused_request, step
from tests.rectification.helpers import issue

ZZ_ENTRY = "410100-gaj-0001"  # 郑州市居住证信息, 郑州市公安局, conditional


def province_notice(as_user: Any, **over: Any) -> dict[str, Any]:
    """The provincial authority notifies 省人社厅 (豫数整改…)."""
    return issue(as_user("data_reviewer"), **over)


def zz_notice(as_user: Any, **over: Any) -> dict[str, Any]:
    """The Zhengzhou authority notifies 郑州市人社局 (郑数整改…)."""
    return issue(as_user("zz_data_reviewer"), **{"department_code": "410100-rsj", **over})


def province_dispute(as_user: Any) -> dict[str, Any]:
    """省人社厅 disputes 省公安厅's refusal: the provincial authority's case, in negotiation."""
    sr = refused_request(as_user)
    return open_dispute(as_user("rst_clerk"), sr["id"])


def zz_dispute(as_user: Any) -> dict[str, Any]:
    """郑州市人社局 disputes 郑州市公安局's refusal: the Zhengzhou authority's case, in negotiation."""
    sr = refused_request(as_user, clerk="zz_clerk", reviewer="zz_reviewer", entry_code=ZZ_ENTRY,
                         items=["姓名", "居住证号"])
    return open_dispute(as_user("zz_clerk"), sr["id"])


def escalated_dispute(as_user: Any) -> dict[str, Any]:
    """A provincial dispute the provider sent to the authority, now waiting for its coordination."""
    d = province_dispute(as_user)
    return step(as_user("gat_reviewer"), d["id"], "provider-position", {**NOT_SHARE, "request_coordination": True})


def cases(client: TestClient, expect: int = 200, **params: Any) -> dict[str, Any]:
    """GET the console's cases and check the status code."""
    r = client.get("/api/authority/cases", params=params)
    assert r.status_code == expect, r.text
    return r.json()  # type: ignore[no-any-return]


def keys(listing: dict[str, Any]) -> list[tuple[str, int]]:
    return [(c["kind"], c["id"]) for c in listing["items"]]


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def login(app: Any, username: str) -> TestClient:
    """A page session (cookie) of a demo user."""
    c = TestClient(app, follow_redirects=False)
    page = c.get("/login")
    r = c.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": csrf(page.text),
                               "next": "/tasks"})
    assert r.status_code == 303, r.text
    return c
