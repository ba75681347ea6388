"""Translations: Simplified Chinese is the source language, English is read from a gettext catalog.

msgids are the Chinese texts themselves, so anything without an English translation falls back to
Chinese. The catalogs are .po files (app/locale/<lang>/LC_MESSAGES/messages.po) compiled in memory
when first needed: no build step, and no committed binary .mo that could lag behind its .po.
"""

from __future__ import annotations

import ast
import io
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from typing import Any

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from app.core.config import ROOT

LOCALE_DIR = ROOT / "app" / "locale"
DEFAULT_LANGUAGE = "zh"
LANGUAGES = ("zh", "en")
# Shown in each language's own words on the switch.
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
HTML_LANG = {"zh": "zh-CN", "en": "en"}

# The language of what is being rendered now; set per page by app.web.render.render.
current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


@cache
def translations(language: str) -> NullTranslations:
    """Return the catalog of a language (Chinese, the source language, translates to itself)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT_LANGUAGE or not path.is_file():
        return NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)  # a fuzzy guess is not a translation
    buffer.seek(0)
    return Translations(buffer)


def normalize(language: str | None) -> str | None:
    """Return 'zh' or 'en' for a language tag such as 'en-GB' or 'zh-Hans-CN', else None."""
    if not language:
        return None
    base = language.strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """Return the supported language an Accept-Language header prefers most, if any."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        language = normalize(tag)
        if language and quality > 0:
            ranked.append((-quality, index, language))
    return min(ranked)[2] if ranked else None


def gettext(message: str, language: str | None = None) -> str:
    """Translate a Chinese text into the given (or the current) language."""
    return translations(language or current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int, language: str | None = None) -> str:
    """Translate a text with a count (Chinese has one form; English two)."""
    return translations(language or current_language.get()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Mark a text for extraction without translating it now (it is translated where it is shown)."""
    return message


def label(mapping: Mapping[Any, str], key: Any, language: str | None = None, default: str = "") -> str:
    """Return the label of key from a Chinese label dict (e.g. ROLE_ZH) in the reader's language."""
    text = mapping.get(key)
    return gettext(text, language) if text else default


# Dates: Chinese keeps the house style (2026-12-03 14:05, 2026年12月03日); English reads 3 Dec 2026, 14:05.
_EN_PATTERNS = {"%Y-%m-%d %H:%M": "d MMM y, HH:mm", "%Y-%m-%d %H:%M:%S": "d MMM y, HH:mm:ss",
                "%Y-%m-%d": "d MMM y", "%Y年%m月%d日": "d MMMM y", "%Y": "y"}


def format_local(value: datetime | date, fmt: str, language: str | None = None) -> str:
    """Format a (Shanghai-local) date or time in the convention of the language."""
    language = language or current_language.get()
    pattern = _EN_PATTERNS.get(fmt) if language == "en" else None
    if pattern is None:
        return value.strftime(fmt)
    if isinstance(value, datetime):
        return format_datetime(value, pattern, tzinfo=value.tzinfo, locale="en")
    return format_date(value, pattern, locale="en")


def extract(fileobj: Any, keywords: Any, comment_tags: Any, options: dict[str, str]) -> Iterator[Any]:
    """Babel extractor for app/**.py: gettext calls, plus the values of the label dicts babel.cfg names.

    Label dicts (ROLE_ZH, STATE_ZH, …) stay plain Chinese in their models; pages show them through
    `label()`/`_()`, and this puts their values in the catalog without a marker in every model file.
    """
    from babel.messages.extract import extract_python

    yield from extract_python(fileobj, keywords, comment_tags, options)
    name = str(getattr(fileobj, "name", "")).replace("\\", "/")
    wanted = {item.partition(":")[2] for item in options.get("labels", "").split()
              if item.partition(":")[0] and name.endswith(item.partition(":")[0])}
    if not wanted:
        return
    fileobj.seek(0)
    tree = ast.parse(fileobj.read())
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and target.id in wanted and isinstance(value, ast.Dict):
            for item in value.values:
                if isinstance(item, ast.Constant) and isinstance(item.value, str):
                    yield item.lineno, "", item.value, [f"label dict {target.id}"]
