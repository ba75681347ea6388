"""Import every area's models so Alembic sees one metadata."""

from sqlmodel import SQLModel

import app.authority.next_due  # noqa: F401  (the flush keeps the cases' next deadline with their tasks)
from app.attachments.models import Attachment  # noqa: F401
from app.audit.models import AuditEvent, AuditHead
from app.auth.models import LoginThrottle, UserSession  # noqa: F401
from app.catalog.models import CatalogEntry
from app.catalog.models import (CatalogUpdateDuty, CatalogUpdateTrigger, CatalogVersion,  # noqa: F401
                                CatalogVersionEntry)
from app.designer.models import ProcessDraft, ProcessSubmission  # noqa: F401
from app.desk.models import CaseCopy, Phrase, SavedFilter, TaskComment, TaskUrge  # noqa: F401
from app.disputes.models import Dispute, DisputeRecord  # noqa: F401
from app.engine.models import ProcessDefinition, ProcessInstance, Task
from app.external.models import ExternalTask  # noqa: F401
from app.notifications.models import Notification, Outbox  # noqa: F401
from app.open_data.models import OpenList, OpenListItem, OpenListReview  # noqa: F401
from app.ops.models import JobStatus, SchedulerHeartbeat  # noqa: F401
from app.org.models import Department, Region, User, UserRole
from app.reports.models import YearlyReport  # noqa: F401
from app.rectification.models import (RectificationAuthority, RectificationNotice,  # noqa: F401
                                      RectificationNumberCounter, RectificationSubmission)
from app.sharing.models import ShareGrant, ShareRequest
from app.signing.models import SignedDocument, SignedDocumentCounter, SigningKey  # noqa: F401
from app.supervision.models import SupervisionItem
from app.systems.models import BusinessSystem  # noqa: F401
from app.tasks.models import Deputy, TaskSide  # noqa: F401
from app.usage.models import SystemClient, UsageEvent, UsageFlag  # noqa: F401
from app.workdays.models import CalendarYear, ServiceClock

metadata = SQLModel.metadata

__all__ = [
    "AuditEvent", "AuditHead", "CalendarYear", "CatalogEntry", "Department", "ProcessDefinition", "ProcessInstance",
    "Region", "ServiceClock", "ShareGrant", "ShareRequest", "SupervisionItem", "Task", "User", "UserRole",
    "metadata",
]
