"""The English catalog covers every text marked for translation, and the switch's plumbing reads it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from babel.messages.frontend import parse_mapping_cfg
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app.core.clock import SHANGHAI
from app.core.i18n import format_local, from_accept_language, gettext

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "app" / "locale" / "en" / "LC_MESSAGES" / "messages.po"
# The keywords of `make messages` (Makefile PYBABEL_KEYWORDS).
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "flash_redirect": (3,)}


def _marked() -> dict[str, str]:
    """Return every msgid the templates and app/ mark today, with the file it comes from."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, str] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        for msgid in (message if isinstance(message, tuple) else (message,)):
            if msgid:
                found.setdefault(msgid, filename)
    return found


def test_every_marked_text_has_an_english_translation() -> None:
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog
                  if m.id and m.string and (m.string if isinstance(m.string, str) else all(m.string))
                  and not m.fuzzy}
    marked = _marked()
    assert len(marked) > 50  # extraction really ran over the templates and app/
    missing = {msgid: where for msgid, where in marked.items() if msgid not in translated}
    assert not missing, f"texts without English (run `make messages` and translate): {missing}"


def test_english_reads_the_catalog_and_chinese_stays_the_source() -> None:
    assert gettext("我的待办", "en") == "Inbox"
    assert gettext("我的待办", "zh") == "我的待办"
    assert gettext("一句没有译文的话", "en") == "一句没有译文的话"  # untranslated text falls back to Chinese


def test_dates_follow_the_reader_s_convention() -> None:
    at = datetime(2026, 12, 3, 14, 5, tzinfo=SHANGHAI)
    assert format_local(at, "%Y-%m-%d %H:%M", "zh") == "2026-12-03 14:05"
    assert format_local(at, "%Y-%m-%d %H:%M", "en") == "3 Dec 2026, 14:05"
    assert format_local(at.date(), "%Y年%m月%d日", "en") == "3 December 2026"
    assert format_local(at.date(), "%Y年%m月%d日", "zh") == "2026年12月03日"


def test_browser_language_preference() -> None:
    assert from_accept_language("en-GB,en;q=0.9,zh-CN;q=0.8") == "en"
    assert from_accept_language("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert from_accept_language("fr-FR, en;q=0.3, zh;q=0.5") == "zh"
    assert from_accept_language("de") is None and from_accept_language(None) is None


def test_translations_keep_the_placeholders_of_their_source() -> None:
    """A translation that loses or misspells %(name)s or {name} would break the page it is shown on."""
    import re

    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    wrong = []
    for m in catalog:
        if not m.id or not m.string:
            continue
        pairs = zip(m.id, m.string) if isinstance(m.id, tuple) else [(m.id, m.string)]
        for source, text in pairs:
            for pattern in (r"%\(\w+\)s", r"\{\w+\}"):
                if sorted(re.findall(pattern, source)) != sorted(re.findall(pattern, text)):
                    wrong.append(source)
            if re.search(r"[<>&]", text):  # newstyle gettext marks the text safe: no markup in a translation
                wrong.append(source)
    assert not wrong, wrong
