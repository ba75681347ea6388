"""JSON API under /api."""

from fastapi import APIRouter

from app.api import (admin, attachments, auth, authority, calendar, catalog, designer, disputes, notifications,
                     open_data, processes, rectification, sharing, supervision, tasks)
from app.core.config import Settings


def build_router(settings: Settings) -> APIRouter:
    """Assemble the API; the demo clock exists only with time travel enabled."""
    router = APIRouter()
    for module in (auth, admin, calendar, catalog, sharing, tasks, processes, supervision, notifications,
                   attachments, open_data, rectification, disputes, authority, designer):
        router.include_router(module.router)
    if settings.enable_time_travel:
        router.include_router(admin.clock_router)
    return router
