"""One Settings class (pydantic-settings, prefix GOVFLOW_)."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER_SECRET = "development-only-placeholder-secret-change-me"


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
    # Scripts run in this many worker processes per web or scheduler process, each limited to this
    # much memory beyond its own start-up size (RLIMIT_AS).
    script_workers: int = Field(default=2, ge=1, le=64)
    script_memory_mb: int = Field(default=256, ge=16)
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

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> "Settings":
        if self.environment == "production" and (
            self.secret_key == PLACEHOLDER_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "GOVFLOW_SECRET_KEY must be set to a random value of 32+ characters in production"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return Settings()
