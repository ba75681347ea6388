"""Import every area's models so Alembic sees one metadata."""

from sqlmodel import SQLModel

from app.audit.models import AuditEvent, AuditHead
from app.catalog.models import CatalogEntry
from app.engine.models import ProcessDefinition, ProcessInstance, Task
from app.org.models import Department, Region, User, UserRole
from app.sharing.models import ShareGrant, ShareRequest

metadata = SQLModel.metadata

__all__ = [
    "AuditEvent", "AuditHead", "CatalogEntry", "Department", "ProcessDefinition", "ProcessInstance",
    "Region", "ShareGrant", "ShareRequest", "Task", "User", "UserRole", "metadata",
]
