"""One Settings class (pydantic-settings, prefix GOVFLOW_)."""

from __future__ import annotations

import hmac
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER_SECRET = "development-only-placeholder-secret-change-me"


def secret_weakness(value: str | None) -> str | None:
    """Return why a secret is unfit for production (in Chinese), or None when it will do.

    One rule for every key the service holds (the secret key, the audit chain key): set, not a
    placeholder, 32+ characters, and not a short pattern repeated (`'a' * 32` is long but guessable).
    """
    if not value:
        return "未设置"
    lowered = value.lower()
    if value == PLACEHOLDER_SECRET or any(word in lowered for word in ("placeholder", "change-me",
                                                                       "changeme")):
        return "仍是占位值"
    if len(value) < 32:
        return "少于 32 个字符"
    # A random 32-character value uses far more than 8 distinct characters (hex: ~14 on average).
    if len(set(value)) < 8:
        return "字符种类太少，不像随机生成的值"
    return None


class Settings(BaseSettings):
    """Service settings; every provincial detail is data or a setting here."""

    model_config = SettingsConfigDict(env_prefix="GOVFLOW_", env_file=".env", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = f"sqlite:///{ROOT / 'var' / 'govflow.db'}"
    secret_key: str = PLACEHOLDER_SECRET
    bootstrap_admin_password: str | None = None
    enable_time_travel: bool = False
    run_scheduler: bool = False
    access_token_minutes: int = 8 * 60
    max_body_bytes: int = 1024 * 1024
    attachments_dir: Path = ROOT / "var" / "attachments"
    attachment_max_bytes: int = 10 * 1024 * 1024
    script_timeout_seconds: float = 1.0
    bpmn_dir: Path = ROOT / "bpmn"
    # Art. 16: the provider replies to a conditional share request within 5 working days.
    share_reply_working_days: int = 5
    # Art. 9: an updated catalog is due within 10 working days of the trigger.
    catalog_update_working_days: int = 10
    # Art. 16 para 3: a dispute is first negotiated between the two departments. The regulation
    # sets no limit; after 10 working days without agreement it goes to the data authority.
    dispute_negotiation_working_days: int = 10
    # Each position in the negotiation and each statement the authority asks for (house rule).
    dispute_statement_working_days: int = 5
    close_of_business: time | None = None
    province_code: str = "410000"
    default_language: Literal["zh", "en"] = "zh"
    # Notifications also go to this webhook (a province's SMS or 政务钉钉 gateway) when set.
    notification_webhook_url: str | None = None
    # Signs each webhook body: header X-GovFlow-Signature: sha256=<hex HMAC-SHA256 of the body>.
    notification_webhook_secret: str | None = None
    notification_max_attempts: int = 8
    # Art. 29 notice numbers, e.g. 豫数整改〔2026〕12号: {prefix} is the issuing authority's (data: table
    # rectification_authority), {year} the calendar year in Asia/Shanghai, {seq} its sequence that year.
    rectification_number_pattern: str = "{prefix}〔{year}〕{seq}号"
    # The longest rectification deadline an authority may set, in working days (the regulation is silent).
    rectification_max_working_days: int = 120
    # Art. 12 (records traceable): the audit chain is keyed with HMAC-SHA256 under this key, which lives
    # here only, never in the database, so whoever can write the database cannot recompute a chain that
    # verifies. Production refuses a missing or weak one; development and test derive one from the
    # secret key. Changing it makes every event written before unverifiable.
    audit_key: str | None = None
    # The chain head (seq, hash, time, and an HMAC over them) is appended here as one JSON line every
    # GOVFLOW_AUDIT_HEAD_EXPORT_MINUTES, and posted to the webhook when set: point either at storage the
    # database's administrators cannot rewrite. `verify-audit` checks the chain against the latest head.
    audit_head_export_path: Path = ROOT / "var" / "audit-head.jsonl"
    audit_head_webhook_url: str | None = None
    audit_head_export_minutes: int = Field(default=5, ge=1, le=24 * 60)

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> "Settings":
        if self.environment == "production" and (
            self.secret_key == PLACEHOLDER_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "GOVFLOW_SECRET_KEY must be set to a random value of 32+ characters in production"
            )
        return self

    @model_validator(mode="after")
    def _refuse_weak_audit_key(self) -> "Settings":
        if self.environment == "production":
            weakness = secret_weakness(self.audit_key)
            if weakness is None and self.audit_key == self.secret_key:
                weakness = "与 GOVFLOW_SECRET_KEY 相同"
            if weakness is not None:
                raise ValueError(f"GOVFLOW_AUDIT_KEY {weakness}：生产环境须设为 32 个字符以上的随机值，且不同于"
                                 " GOVFLOW_SECRET_KEY (production needs a random audit key of 32+ characters,"
                                 " distinct from the secret key)")
        return self

    def audit_hmac_key(self) -> bytes:
        """Return the audit chain HMAC key: the setting, or one derived from the secret (not production)."""
        if self.audit_key:
            return self.audit_key.encode("utf-8")
        return hmac.digest(self.secret_key.encode("utf-8"), b"govflow audit chain key v1", "sha256")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return Settings()
