"""「更早的记录」 of the case pages: the earlier lines of a history or a file, below a cursor."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from app.web.render import render


def earlier_lines(request: Request, *, lines: str, context: dict[str, Any], case: str, case_id: int,
                  part: str, back_url: str) -> Response:
    """Answer 「更早的记录」: the lines alone for the page's script (header HX-Request, as htmx sends it),
    else a page of them with the link to the ones before (the pages work without script). `case` and `part`
    are Chinese msgids (N_) the page title is made of: 共享争议 #7 · 流转记录."""
    if request.headers.get("HX-Request") == "true":
        flash = request.session.get("flash")
        response = render(request, lines, context)
        if flash is not None:  # a fragment is not a page: the message waits for the next page
            request.session["flash"] = flash
        return response
    return render(request, "history_page.html",
                  {**context, "lines_template": lines, "case": case, "case_id": case_id, "part": part,
                   "back_url": back_url})
