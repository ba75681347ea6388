"""Everything a process (web or scheduler) holds once: settings, database, engine, runner."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.audit.service import KEY_INFO, ChainKey
from app.core.config import Settings
from app.core.db import Database
from app.engine.core import Engine
from app.engine.runner import DEFINITIONS_INFO, DefinitionInfo, Runner
from app.org.service import ActorCache
from app.signing.keys import SIGNING_INFO, SigningConfig
from app.workdays.service import CalendarProvider, DeadlinePolicy


@dataclass
class Runtime:
    settings: Settings
    db: Database
    engine: Engine
    runner: Runner
    calendar: CalendarProvider
    actors: ActorCache = field(default_factory=ActorCache)


def build_runtime(settings: Settings) -> Runtime:
    """Build the runtime objects for one process."""
    import app.hooks  # noqa: F401  (areas register their process hooks)

    if settings.environment == "test":
        from app.core.security import use_fast_hashing

        use_fast_hashing()
    # The audit key rides on every session, so events are chained under it whoever commits them.
    # So are the deployed definitions' metadata, cached once for the runner and the areas' hooks alike.
    definitions: dict[int, DefinitionInfo] = {}
    # And the signing configuration: documents issued inside engine hooks are signed in their transaction.
    db = Database(settings.database_url, session_info={KEY_INFO: ChainKey.from_settings(settings),
                                                       DEFINITIONS_INFO: definitions,
                                                       SIGNING_INFO: SigningConfig(settings)})
    engine = Engine(script_timeout=settings.script_timeout_seconds, script_memory_mb=settings.script_memory_mb,
                    script_workers=settings.script_workers, script_step_budget=settings.script_step_budget_seconds)
    calendar = CalendarProvider(settings)
    return Runtime(settings=settings, db=db, engine=engine, calendar=calendar,
                   runner=Runner(engine, DeadlinePolicy(settings, calendar), definitions))
