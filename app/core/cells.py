"""Cells of exported spreadsheets (CSV, XLSX): text a spreadsheet program must not run as a formula."""

from __future__ import annotations

from typing import Any

# CSV/formula injection (OWASP): Excel, WPS and LibreOffice evaluate a cell that starts with one of
# these, and a leading tab or carriage return hides such a start from a reader's eye.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Return a text value that starts like a formula behind a quote ('), anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def unquote_cell(text: str) -> str:
    """Undo safe_cell on text read back from an export (an import of a file GovFlow wrote)."""
    if text[:1] == "'" and text[1:2] and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text
