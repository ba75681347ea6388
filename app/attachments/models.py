"""Files attached to statements and reports: bytes on disk, metadata here.

A plaintext file is content-addressed (``<sha256[:2]>/<sha256>``; identical uploads share one file). An
encrypted file (``settings.encrypt_attachments``, app/attachments/crypto.py) has a random storage name of
its own (``enc/<name[:2]>/<name>``) and a data key of its own, kept here only sealed by a master key.
"""

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
    size: int  # of the plaintext, the bytes a download returns
    # SHA-256 of the plaintext, for every row (plaintext or encrypted, whatever the suite): what API clients
    # and the X-Checksum-SHA256 header have always given; the name of a plaintext file.
    sha256: str = Field(max_length=64, index=True)
    # The checksum a download is verified against: the suite's digest of the plaintext when uploaded
    # ("sm3" under the SM suite, "sha256" otherwise and for every row older than migration 0041).
    checksum_alg: str = Field(default="sha256", max_length=16, sa_column_kwargs={"server_default": "sha256"})
    checksum: str = Field(max_length=128)
    # Encryption at rest: the cipher ("sm4-gcm" | "aes-256-gcm"), the file's storage name, and its data key
    # sealed by the master keyring (app/crypto/keys.py, purpose "attachment:<storage_name>"). All three
    # are NULL for a plaintext file.
    cipher: str | None = Field(default=None, max_length=16)
    storage_name: str | None = Field(default=None, max_length=64, index=True, unique=True)
    wrapped_key: str | None = Field(default=None, max_length=255)
    note: str | None = Field(default=None, max_length=500)
    uploaded_by_id: int = Field(foreign_key="app_user.id")
    department_id: int = Field(foreign_key="department.id")
    uploaded_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def encrypted(self) -> bool:
        return self.cipher is not None
