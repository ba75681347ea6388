"""The console page without JavaScript: counts, deadline markers, links to the cases and their printed
documents (A4 print views without the menu), filters as a GET form."""

import re

from app.core.clock import clock
from tests.authority.helpers import escalated_dispute, login, province_notice, zz_notice
from tests.disputes.helpers import step
from tests.rectification.helpers import at


def _row(page: str, kind: str, case_id: int) -> str:
    match = re.search(rf'<tr class="case[^"]*" data-kind="{kind}" data-id="{case_id}">(.*?)</tr>', page, re.DOTALL)
    assert match, f"no row for {kind} {case_id}"
    return match.group(0)


def test_the_page_shows_counts_markers_and_links(client, as_user) -> None:
    late = province_notice(as_user, deadline_working_days=3)  # due Thu 11-05
    city = zz_notice(as_user, deadline_working_days=10)  # due Mon 11-16
    decided = escalated_dispute(as_user)
    decided = step(as_user("data_reviewer"), decided["id"], "decision",
                   {"decision": "share", "items": ["姓名"], "terms": "仅通过接口核验", "reasons": "资格认证属法定职责"})
    assert decided["status"] == "decided"  # open: the provider's compliance is due Mon 11-09
    clock.freeze(at(2026, 11, 9, 10, 0))
    today = province_notice(as_user, deadline_working_days=1)
    clock.freeze(at(2026, 11, 10, 9, 0))

    page = login(client.app, "data_reviewer").get("/authority")
    assert page.status_code == 200, page.text
    text = page.text
    assert '<a href="/authority" class="active">主管部门工作台</a>' in text
    assert re.search(r'id="count-open-disputes">1<', text) and re.search(r'id="count-open-notices">3<', text)
    assert re.search(r'id="count-overdue">2<', text)
    assert '<form method="get" action="/authority"' in text and 'name="overdue" value="1"' in text

    row = _row(text, "rectification_notice", late["id"])
    assert "overdue-row" in row and '<div class="status overdue">已超期3个工作日</div>' in row
    assert f'<a href="/rectification-notices/{late["id"]}">{late["number"]}</a>' in row
    assert f'<a href="/rectification-notices/{late["id"]}/print" target="_blank">整改通知书</a>' in row
    row = _row(text, "dispute", decided["id"])
    assert '<div class="status overdue">已超期1个工作日</div>' in row and "已评判，待落实" in row
    assert f'<a href="/disputes/{decided["id"]}/decision" target="_blank">争议评判决定书</a>' in row
    assert "“居民户籍信息”共享争议" in row
    assert '<div class="muted">今日到期</div>' in _row(text, "rectification_notice", today["id"])
    row = _row(text, "rectification_notice", city["id"])
    assert '<div class="muted">剩余4个工作日</div>' in row and "郑州市大数据管理局" in row and "市级" in row
    # Overdue first.
    order = [int(i) for i in re.findall(r'<tr class="case[^"]*" data-kind="[a-z_]+" data-id="(\d+)"', text)]
    assert order[:2] == [late["id"], decided["id"]]

    only_late = login(client.app, "data_reviewer").get("/authority", params={"overdue": "1", "kind": ""}).text
    assert len(re.findall(r'<tr class="case', only_late)) == 2 and 'value="1" checked' in only_late
    by_city = login(client.app, "data_reviewer").get("/authority", params={"region": "410100"}).text
    assert re.findall(r'data-id="(\d+)"', by_city) == [str(city["id"])]
    assert '<option value="410100" selected>郑州市（市级）</option>' in by_city


def test_a_provisional_deadline_is_marked_on_the_page(client, as_user) -> None:
    clock.freeze(at(2026, 12, 28, 10, 0))
    province_notice(as_user, deadline_working_days=10)
    text = login(client.app, "data_reviewer").get("/authority").text
    assert "剩余10个工作日（暂定）" in text and "次年节假日安排尚未导入" in text


def test_paging_links_keep_the_filters(client, as_user) -> None:
    notices = [province_notice(as_user, deadline_working_days=5)["id"] for _ in range(51)]
    page = login(client.app, "data_reviewer")
    first = page.get("/authority", params={"kind": "rectification_notice"}).text
    assert "共 51 件" in first and len(re.findall(r'<tr class="case', first)) == 50 and "回到第一页" not in first
    next_url = re.search(r'href="(/authority\?kind=rectification_notice&amp;cursor=[^"]+)">下一页', first)
    assert next_url, first
    second = page.get(next_url.group(1).replace("&amp;", "&")).text
    shown = [int(i) for p in (first, second) for i in re.findall(r'data-id="(\d+)"', p)]
    assert sorted(shown) == sorted(notices) and len(set(shown)) == 51
    assert "下一页" not in second and 'href="/authority?kind=rectification_notice">回到第一页' in second


def test_the_printed_documents_are_a4_without_the_menu(client, as_user) -> None:
    notice = province_notice(as_user)
    decided = escalated_dispute(as_user)
    step(as_user("data_reviewer"), decided["id"], "decision",
         {"decision": "not_share", "reasons": "数据涉及个人隐私，现有共享条件不足"})
    page = login(client.app, "data_reviewer")
    listing = page.get("/authority", params={"state": "all"}).text
    for url in (f"/rectification-notices/{notice['id']}/print", f"/disputes/{decided['id']}/decision"):
        assert f'href="{url}"' in listing
        printed = page.get(url)
        assert printed.status_code == 200, printed.text
        css = printed.text
        assert re.search(r"@page\s*\{\s*size:\s*A4\b", css)
        # The print stylesheet hides the page's own links (back, print); the menu is never there.
        assert re.search(r"@media print\s*\{[^@]*?\.(tools|toolbar)\s*\{\s*display:\s*none", css)
        assert '<header class="top">' not in css and "<nav>" not in css
