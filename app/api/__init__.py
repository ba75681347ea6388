"""JSON API under /api."""

from fastapi import APIRouter

from app.api import (admin, attachments, auth, authority, calendar, catalog, designer, designer_scenarios, diagram,
                     disputes, notifications, open_data, processes, rectification, sharing, supervision, tasks,
                     trials)
from app.api import reports
from app.api import signing
from app.api import desk
from app.api import migrations as designer_migrations
from app.api import messages
from app.api import systems
from app.api import task_actions
from app.api import usage
from app.api import external_tasks
from app.core.config import Settings


def build_router(settings: Settings) -> APIRouter:
    """Assemble the API; the demo clock exists only with time travel enabled."""
    router = APIRouter()
    for module in (auth, admin, calendar, catalog, sharing, tasks, processes, supervision, notifications,
                   attachments, open_data, rectification, disputes, authority, designer, trials, designer_scenarios,
                   diagram, reports):
        router.include_router(module.router)
    router.include_router(designer_migrations.router)
    router.include_router(messages.router)
    router.include_router(task_actions.router)
    router.include_router(desk.router)
    router.include_router(systems.router)
    router.include_router(usage.router)
    router.include_router(signing.router)
    router.include_router(external_tasks.router)
    router.include_router(external_tasks.admin_router)
    if settings.enable_time_travel:
        router.include_router(admin.clock_router)
    return router
