"""Files attached to statements and reports: bytes on disk (content-addressed), metadata here."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


class Attachment(SQLModel, table=True):
    """One uploaded file, owned by a business object (a dispute, a rectification notice...)."""

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_owner", "owner_type", "owner_id"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_type: str = Field(max_length=32)
    owner_id: int
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64, index=True)
    note: str | None = Field(default=None, max_length=500)
    uploaded_by_id: int = Field(foreign_key="app_user.id")
    department_id: int = Field(foreign_key="department.id")
    uploaded_at: datetime = Field(sa_type=UTCDateTime)
