"""The language switch in the page header (English / 中文), for people logged in or not."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.core import security
from app.core.errors import InvalidInput
from app.core.i18n import LANGUAGES, N_
from app.deps import RuntimeDep, SessionDep, session_actor
from app.org import flows as org_flows
from app.web import FormData
from app.web.render import LANGUAGE_COOKIE

router = APIRouter(include_in_schema=False)

# A year: the choice of a visitor who is not logged in (the login page) outlives the session.
COOKIE_SECONDS = 365 * 24 * 3600


def safe_path(url: str, fallback: str = "/tasks") -> str:
    """Return url if it is a path on this site, else fallback (never an open redirect)."""
    if not url.startswith("/") or url.startswith(("//", "/\\")) or any(ord(c) < 32 for c in url):
        return fallback
    return url


@router.post("/me/language")
def switch_language(request: Request, session: SessionDep, rt: RuntimeDep, form: FormData) -> Response:
    """Switch the pages to English or Chinese and go back to the page the switch was on.

    A logged-in person's choice is stored on their user (it follows them to any browser); a cookie
    keeps it for the login page too.
    """
    language = str(form.get("language") or "")
    if language not in LANGUAGES:
        raise InvalidInput(N_("不支持该语言"), code="language_unsupported", extra={"languages": list(LANGUAGES)})
    raw = request.session.get("sid")
    actor = session_actor(session, rt, raw, security.utcnow()) if isinstance(raw, str) else None
    if actor is not None:
        org_flows.set_language(session, actor, language)
        rt.actors.forget(actor.id)
    response = RedirectResponse(safe_path(str(form.get("next") or "/tasks")), status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=COOKIE_SECONDS, samesite="lax",
                        httponly=True, secure=rt.settings.environment == "production")
    return response
