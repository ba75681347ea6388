"""Issue 11, rough edges of the dispute pages: the round count agrees with the round shown, and the
printed decision neither says 共协商0轮 after a round nor doubles the punctuation a person typed."""

import re

from app.web.render import end_with
from tests.disputes.helpers import NOT_SHARE, open_dispute, refused_request, step
from tests.disputes.test_pages import _login


def _rounds_shown(page: str) -> str:
    found = re.search(r"<dt>协商轮次</dt><dd>(.*?)</dd>", page)
    assert found is not None, page
    return found.group(1)


def test_round_count_agrees_with_the_round_in_progress_and_the_print(client, as_user) -> None:
    sr = refused_request(as_user)
    d = open_dispute(as_user("rst_clerk"), sr["id"])
    url = f"/disputes/{d['id']}"
    provider = _login(client.app, "gat_reviewer")
    page = provider.get(url).text
    assert "提出协商意见（第 1 轮）" in page
    assert _rounds_shown(page) == "第1轮进行中"

    # The provider states its position and declares the negotiation failed in that same round.
    d = step(as_user("gat_reviewer"), d["id"], "provider-position", {**NOT_SHARE, "request_coordination": True})
    assert d["status"] == "coordinating" and d["negotiation_rounds"] == 1
    clerk = _login(client.app, "rst_clerk")
    page = clerk.get(url).text
    assert _rounds_shown(page) == "共1轮" and "第1轮" in page
    assert "协商1轮，提请" in page  # the escalation line of the file agrees

    step(as_user("data_reviewer"), d["id"], "decision",
         {"decision": "not_share", "reasons": "侦查信息依法保密", "basis": "《刑事诉讼法》第一百五十二条"})
    printed = clerk.get(f"{url}/decision")
    assert printed.status_code == 200
    assert "共协商1轮。" in printed.text and "共协商0轮" not in printed.text


def test_round_count_after_rounds_answered(client, as_user) -> None:
    sr = refused_request(as_user)
    clerk_api, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    d = open_dispute(clerk_api, sr["id"])
    step(reviewer, d["id"], "provider-position", NOT_SHARE)
    d = step(clerk_api, d["id"], "requester-reply", {"response": "continue", "position": "请再考虑"})
    assert d["negotiation_rounds"] == 1
    clerk = _login(client.app, "rst_clerk")
    assert _rounds_shown(clerk.get(f"/disputes/{d['id']}").text) == "第2轮进行中（已完成1轮）"
    step(reviewer, d["id"], "provider-position", {"stance": "share", "terms": "按约使用", "position": "同意"})
    d = step(clerk_api, d["id"], "requester-reply", {"response": "accept", "position": "好"})
    assert d["status"] == "settled" and d["negotiation_rounds"] == 2
    assert _rounds_shown(clerk.get(f"/disputes/{d['id']}").text) == "共2轮"
    assert "共协商2轮。" in clerk.get(f"/disputes/{d['id']}/decision").text


def test_printed_decision_does_not_double_typed_punctuation(client, as_user) -> None:
    sr = refused_request(as_user)
    clerk_api, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    d = open_dispute(clerk_api, sr["id"], duties="核查参保人员资格。", need="须核验户籍状态。")
    step(reviewer, d["id"], "provider-position",
         {**NOT_SHARE, "terms": "可按个案提供核验结果。", "basis": "《个人信息保护法》第三十四条。"})
    d = step(clerk_api, d["id"], "requester-reply", {"response": "accept", "position": "接受。"})
    assert d["status"] == "settled"
    printed = _login(client.app, "rst_clerk").get(f"/disputes/{d['id']}/decision")
    assert printed.status_code == 200
    text = printed.text
    assert "。。" not in text and "。；" not in text
    assert "其履行的职责及依据为：核查参保人员资格；确需使用的理由为：须核验户籍状态。" in text
    assert "双方约定：可按个案提供核验结果。" in text and "依据：《个人信息保护法》第三十四条。" in text


def test_end_with_joins_without_doubling_punctuation() -> None:
    assert end_with("理由", "。") == "理由。"
    assert end_with("理由。", "。") == "理由。"
    assert end_with("理由。", "；") == "理由；"
    assert end_with("理由；", "。") == "理由。"
    assert end_with("理由，", "；") == "理由；"
    assert end_with("真的吗？", "。") == "真的吗？"
    assert end_with("Really!", "。") == "Really!"
    assert end_with("reason.", "；") == "reason；"
    assert end_with("reason;", "。") == "reason。"
    assert end_with("理由。 ", "。") == "理由。"
    assert end_with("", "。") == "" and end_with(None, "；") == "" and end_with("  ", "。") == ""
    # Only the end is touched: punctuation inside the text stays.
    assert end_with("第一，第二。", "；") == "第一，第二；"
