"""The printed documents name their verification page by the configured public address, never by the Host a
request came in with (a client chooses that header: it must not be printed as the system's own words)."""

from __future__ import annotations

from tests.authority.helpers import login
from tests.rectification.helpers import issue
from tests.signing.helpers import SM_SIGNING

PUBLIC = "https://zwsj.example.gov.cn"
SIGNING = {**SM_SIGNING, "public_base_url": PUBLIC + "/"}


def test_printed_notice_names_the_configured_address_not_the_requests_host(app, as_user) -> None:  # type: ignore[no-untyped-def]
    notice = issue(as_user("data_reviewer"))
    page = login(app, "data_reviewer")
    printed = page.get(f"/rectification-notices/{notice['id']}/print", headers={"host": "evil.example"})
    assert printed.status_code == 200, printed.text
    assert f"访问 {PUBLIC}/verify，输入核验码" in printed.text
    assert "evil.example" not in printed.text
