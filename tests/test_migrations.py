"""The schema comes from Alembic alone, and the models agree with it."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from app.models import metadata
from app.usage.models import include_name
from app.runtime import Runtime


def test_models_and_migrations_agree(rt: Runtime) -> None:
    with rt.db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        diff = compare_metadata(ctx, metadata)
    assert diff == [], f"models differ from migrations: {diff}"


def test_audit_trail_refuses_updates_and_young_deletes(rt: Runtime) -> None:
    with rt.db.session() as session:
        first = session.execute(text("SELECT id FROM audit_event ORDER BY seq LIMIT 1")).scalar_one()
    for statement in ("UPDATE audit_event SET actor = 'mallory' WHERE id = :id",
                      "DELETE FROM audit_event WHERE id = :id"):
        with rt.db.session() as session:
            try:
                session.execute(text(statement), {"id": first})
                session.commit()
            except Exception as exc:  # the database's own refusal, whatever its driver's type
                assert "audit" in str(exc)
            else:
                raise AssertionError(f"database accepted: {statement}")


def test_service_refuses_to_start_on_an_unmigrated_database(tmp_path) -> None:
    import pytest

    from app.core.config import Settings
    from app.runtime import build_runtime
    from app.startup import NotMigrated, prepare

    rt = build_runtime(Settings(environment="test", database_url=f"sqlite:///{tmp_path}/empty.db",
                                secret_key="x" * 40))
    with pytest.raises(NotMigrated, match="python -m app.cli migrate"):
        prepare(rt)
    rt.db.dispose()
