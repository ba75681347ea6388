"""Signing keys of departments, the documents they signed, and the numbering of documents that had none."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


class DocType(StrEnum):
    share_reply = "share_reply"  # the provider's reply to a share request (Art. 16)
    adjudication = "adjudication"  # the data authority's 评判决定书 (Art. 17)
    rectification_notice = "rectification_notice"  # the data authority's 整改通知书 (Art. 29)


DOC_TYPE_ZH = {
    DocType.share_reply: "政务数据共享申请答复书",
    DocType.adjudication: "政务数据共享争议评判决定书",
    DocType.rectification_notice: "整改通知书",
}
# The business row each kind of document is issued on.
ENTITY_TYPE = {DocType.share_reply: "share_request", DocType.adjudication: "dispute",
               DocType.rectification_notice: "rectification_notice"}


class KeyStatus(StrEnum):
    active = "active"  # signs new documents (one per department)
    retired = "retired"  # kept so that documents signed before still verify


KEY_STATUS_ZH = {KeyStatus.active: "现行密钥", KeyStatus.retired: "已停用（历史密钥）"}


class SigningKey(SQLModel, table=True):
    """A department's signing key pair: the public key in clear, the private key sealed by a master key."""

    __tablename__ = "signing_key"
    __table_args__ = (
        # One active key per department: a second first signature racing the first waits and finds it.
        Index("uq_signing_key_active", "department_id", unique=True,
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
        Index("ix_signing_key_department_id", "department_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    department_id: int = Field(foreign_key="department.id")
    alg: str = Field(max_length=32)
    public_key_pem: str = Field(sa_type=Text)
    # app.crypto.keys.Keyring.seal(private, purpose=f"signing-key:{department_id}:{fingerprint}")
    private_key_sealed: str = Field(sa_type=Text, repr=False)
    fingerprint: str = Field(max_length=32, unique=True)
    status: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=64)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retired_by: str | None = Field(default=None, max_length=64)


class SignedDocument(SQLModel, table=True):
    """A document as signed when issued: its canonical content, digest and signature, and the code that
    lets anyone holding the paper check it on /verify."""

    __tablename__ = "signed_document"
    # One signed document per issued decision.
    __table_args__ = (UniqueConstraint("doc_type", "entity_id", name="uq_signed_document_entity"),)

    id: int | None = Field(default=None, primary_key=True)
    doc_type: str = Field(max_length=32)
    number: str = Field(max_length=64, index=True)
    entity_type: str = Field(max_length=32)
    entity_id: int
    # The canonical JSON text signed (UTF-8, sorted keys, no blanks): what the document says.
    content: str = Field(sa_type=Text)
    digest_alg: str = Field(max_length=16)
    digest: str = Field(max_length=128)
    signature_alg: str = Field(max_length=32)
    signature: str = Field(sa_type=Text)  # base64 of the DER signature
    signing_key_id: int = Field(foreign_key="signing_key.id", index=True)
    department_id: int = Field(foreign_key="department.id")
    issued_by: str = Field(max_length=64)
    issued_at: datetime = Field(sa_type=UTCDateTime)
    # 16 characters of Crockford base32 (80 random bits), stored without separators.
    verification_code: str = Field(max_length=16, unique=True)


class SignedDocumentCounter(SQLModel, table=True):
    """The last sequence number a department used for one kind of document in a calendar year (share replies
    and adjudications: rectification notices have their own numbers)."""

    __tablename__ = "signed_document_counter"

    department_id: int = Field(foreign_key="department.id", primary_key=True,
                               sa_column_kwargs={"autoincrement": False})
    doc_type: str = Field(max_length=32, primary_key=True)
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_seq: int = 0
