"""Typed domain errors: each has a stable machine code, an HTTP status and a Chinese message."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a user may see; never a 500."""

    status_code = 400
    code = "bad_request"
    message_zh = "请求无效"
    message_en = "Bad request"

    def __init__(self, message_zh: str | None = None, *, message_en: str | None = None,
                 code: str | None = None, extra: dict[str, Any] | None = None) -> None:
        if message_zh is not None:
            self.message_zh = message_zh
        if message_en is not None:
            self.message_en = message_en
        elif message_zh is not None:
            self.message_en = ""
        if code is not None:
            self.code = code
        self.extra = extra or {}
        super().__init__(self.message_zh)

    def headers(self) -> dict[str, str] | None:
        """Return the HTTP headers the answer carries besides the body."""
        return {"WWW-Authenticate": "Bearer"} if self.status_code == 401 else None

    def to_detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"code": self.code, "message": self.message_zh}
        if self.message_en:
            detail["message_en"] = self.message_en
        detail.update(self.extra)
        return detail


class InvalidInput(DomainError):
    status_code = 422
    code = "invalid_input"
    message_zh = "提交的数据不符合要求"
    message_en = "The submitted data is invalid"


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"
    message_zh = "请先登录"
    message_en = "Authentication required"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"
    message_zh = "您无权执行此操作"
    message_en = "You may not do this"


class CsrfFailed(Forbidden):
    """A page form or a cookie-authenticated API call came without the session's CSRF token."""

    code = "csrf_failed"
    message_zh = "页面已过期或来源不明（CSRF 校验失败），请刷新后重试"
    message_en = "Page expired or of unknown origin (CSRF check failed); reload and try again"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    message_zh = "未找到该对象"
    message_en = "Not found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    message_zh = "操作冲突，请刷新后重试"
    message_en = "Conflict; reload and try again"


class TooManyRequests(DomainError):
    """Refused for now; `retry_after` seconds later the same request may succeed."""

    status_code = 429
    code = "too_many_requests"
    message_zh = "请求过于频繁，请稍后再试"
    message_en = "Too many requests; try again later"

    def __init__(self, message_zh: str | None = None, *, retry_after: int, message_en: str | None = None,
                 code: str | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message_zh, message_en=message_en, code=code,
                         extra={"retry_after": retry_after, **(extra or {})})
        self.retry_after = retry_after

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)}
