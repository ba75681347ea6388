"""One Settings class (pydantic-settings, prefix GOVFLOW_)."""

from __future__ import annotations

import hmac
import ipaddress
import math
from collections import Counter
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER_SECRET = "development-only-placeholder-secret-change-me"
_MIN_SECRET_CHARS = 32
_MIN_SECRET_BITS = 128
_HOW_TO_MAKE_A_SECRET = "python -c \"import secrets; print(secrets.token_urlsafe(32))\""


def weak_secret_reason(value: str | None) -> str | None:
    """Tell why a secret is too weak for production (a Chinese phrase), or None when it will do.

    A secret is refused when it is unset, a placeholder, shorter than 32 characters, one short piece
    repeated, mostly a run of neighbouring characters (aaaa, abcd, 1234), or when its characters carry
    less than 128 bits by their empirical (Shannon) entropy times its length. The estimate is deliberately
    pessimistic for random text: 43 characters of ``secrets.token_urlsafe(32)`` score about 220 bits,
    64 hex digits about 250, ``'a' * 32`` zero.
    """
    if not value:
        return "未设置"
    if value == PLACEHOLDER_SECRET or any(w in value.lower() for w in ("placeholder", "change-me", "changeme")):
        return "仍是占位值"
    if len(value) < _MIN_SECRET_CHARS:
        return f"短于 {_MIN_SECRET_CHARS} 个字符"
    n = len(value)
    if any(n % k == 0 and value == value[:k] * (n // k) for k in range(1, n // 2 + 1)):
        return "由同一片段重复组成"
    neighbours = sum(1 for a, b in zip(value, value[1:]) if abs(ord(a) - ord(b)) <= 1)
    if neighbours * 2 > n - 1:
        return "大部分是重复或连续的字符"
    counts = Counter(value)
    bits = -n * sum(c / n * math.log2(c / n) for c in counts.values())
    if bits < _MIN_SECRET_BITS:
        return f"随机性不足（估计约 {bits:.0f} 位，至少需要 {_MIN_SECRET_BITS} 位）"
    return None


def check_secret(setting: str, value: str | None) -> None:
    """Raise ValueError naming the setting when a production secret is weak (see weak_secret_reason)."""
    reason = weak_secret_reason(value)
    if reason is not None:
        raise ValueError(
            f"{setting} 不能用于生产环境：{reason}。请设置至少 {_MIN_SECRET_CHARS} 个字符的随机值，例如用 "
            f"{_HOW_TO_MAKE_A_SECRET} 生成 / {setting} is too weak for production ({reason}); "
            f"set a random value of {_MIN_SECRET_CHARS}+ characters"
        )



class Settings(BaseSettings):
    """Service settings; every provincial detail is data or a setting here."""

    # hide_input_in_errors: a ValidationError's text (a start-up traceback, a log) would otherwise carry
    # the input, i.e. every setting read, secrets and master keys included. Secrets are left out of repr.
    model_config = SettingsConfigDict(env_prefix="GOVFLOW_", env_file=".env", extra="ignore",
                                      hide_input_in_errors=True)

    environment: Literal["development", "production", "test"] = "development"
    # Log lines on stderr: JSON (one object per line, for a log collector) or readable text. JSON by
    # default in production, text elsewhere (app/core/logs.py).
    log_format: Literal["json", "text"] = Field(
        default_factory=lambda data: "json" if data.get("environment") == "production" else "text")
    # The lowest level logged (access lines are INFO; WARNING keeps only problems).
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    database_url: str = f"sqlite:///{ROOT / 'var' / 'govflow.db'}"
    secret_key: str = Field(default=PLACEHOLDER_SECRET, repr=False)
    bootstrap_admin_password: str | None = Field(default=None, repr=False)
    enable_time_travel: bool = False
    run_scheduler: bool = False
    access_token_minutes: int = 8 * 60
    # Login throttling (no regulation article: a house rule against password guessing). Failures are
    # counted per account and per client address within a window; reaching a limit locks that account
    # or address out for the lockout window, before any password hash is computed.
    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 20
    login_failure_window_minutes: int = 15
    login_lockout_minutes: int = 15
    max_body_bytes: int = 1024 * 1024
    attachments_dir: Path = ROOT / "var" / "attachments"
    attachment_max_bytes: int = 10 * 1024 * 1024
    script_timeout_seconds: float = 1.0
    # All the scripts one request runs (a multi-instance script task runs once per item) share this much time.
    script_step_budget_seconds: float = Field(default=10.0, gt=0)
    # Scripts run in this many worker processes per web or scheduler process, each limited to this
    # much memory beyond its own start-up size (RLIMIT_AS).
    script_workers: int = Field(default=2, ge=1, le=64)
    script_memory_mb: int = Field(default=256, ge=16)
    bpmn_dir: Path = ROOT / "bpmn"
    # Art. 16: the provider replies to a conditional share request within 5 working days.
    share_reply_working_days: int = 5
    # Art. 9: an updated catalog is due within 10 working days of the trigger.
    catalog_update_working_days: int = 10
    # Art. 7: a new business system's catalog is planned with it; the regulation sets no limit for the
    # department to have its catalog reviewed and the project approval recorded (立项): 20 working days.
    business_system_catalog_working_days: int = 20
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
    notification_webhook_secret: str | None = Field(default=None, repr=False)
    notification_max_attempts: int = 8
    # Art. 29 notice numbers, e.g. 豫数整改〔2026〕12号: {prefix} is the issuing authority's (data: table
    # rectification_authority), {year} the calendar year in Asia/Shanghai, {seq} its sequence that year.
    rectification_number_pattern: str = "{prefix}〔{year}〕{seq}号"
    # The longest rectification deadline an authority may set, in working days (the regulation is silent).
    rectification_max_working_days: int = 120
    # Art. 12 (records traceable): the audit chain is keyed with an HMAC under this key (HMAC-SHA256, or
    # HMAC-SM3 under the "sm" crypto suite), which lives here only, never in the database, so whoever
    # can write the database cannot recompute a chain that verifies. Production refuses a missing or weak
    # one; development and test derive one from the secret key. Changing it makes every event written
    # before unverifiable; changing the suite does not (a new segment starts, app/audit/service.py).
    audit_key: str | None = Field(default=None, repr=False)
    # Art. 26 (encryption, certificates, electronic signatures): the algorithms of new audit events,
    # attachment encryption and signatures. "intl": HMAC-SHA256, AES-256-GCM, ECDSA P-256; "sm": China's
    # commercial cryptography, HMAC-SM3, SM4-GCM, SM2 (app/crypto/algorithms.py). What was written under
    # the other suite keeps verifying and decrypting (each value names its algorithm).
    crypto_suite: Literal["intl", "sm"] = "intl"
    # Master (key-encryption) keys, a JSON object of id -> base64 of >= 32 random bytes, e.g.
    # GOVFLOW_MASTER_KEYS='{"k2026": "..."}'; GOVFLOW_MASTER_KEY_ID names the one that seals new keys
    # (needed when there are several). They seal attachments' data keys and organisations' signing keys
    # (app/crypto/keys.py); production refuses encryption or signing without them. Development and test
    # derive one ("dev") from the secret key.
    master_keys: dict[str, str] = Field(default_factory=dict, repr=False)
    master_key_id: str | None = None
    # Attachments written from now on are encrypted at rest with a per-file data key.
    encrypt_attachments: bool = False
    # Where the public reaches this service (e.g. https://zwsj.example.gov.cn), printed on signed documents as
    # the address of their verification page. Unset: the documents say "/verify" only (the address a request
    # came in by is never printed: its Host header is the client's to choose).
    public_base_url: str | None = None
    # Share replies, adjudication decisions and rectification notices are signed when issued.
    sign_documents: bool = False
    # Numbers of the signed documents that had none: {code} is the signing department's code, {year} the
    # calendar year of issue (Asia/Shanghai), {seq} its sequence in that year, per department and kind of
    # document. Rectification notices keep their own (rectification_number_pattern).
    adjudication_number_pattern: str = "{code}评〔{year}〕{seq}号"
    share_reply_number_pattern: str = "{code}共享复〔{year}〕{seq}号"
    # The chain head (seq, hash, time, and an HMAC over them) is appended here as one JSON line every
    # GOVFLOW_AUDIT_HEAD_EXPORT_MINUTES, and posted to the webhook when set: point either at storage the
    # database's administrators cannot rewrite. `verify-audit` checks the chain against the latest head.
    audit_head_export_path: Path = ROOT / "var" / "audit-head.jsonl"
    audit_head_webhook_url: str | None = None
    audit_head_export_minutes: int = Field(default=5, ge=1, le=24 * 60)
    # Art. 24/27: `python -m app.cli backup` writes its archives here unless given --out.
    backup_dir: Path = ROOT / "var" / "backups"
    # Art. 12 usage log: a batch of 10,000 events is some 3 MB of JSON; older months are archived here as
    # gzip'd JSON lines with a .sha256 file beside each, then removed from the database.
    usage_batch_max_bytes: int = 16 * 1024 * 1024
    usage_archive_dir: Path = ROOT / "var" / "usage-archive"
    # Monthly partitions of usage_event made ahead of time on PostgreSQL (create-usage-partitions job).
    usage_partitions_ahead: int = Field(default=3, ge=1, le=24)
    # Operations (issue 13). /metrics answers a client whose address is in one of these networks, or one
    # sending "Authorization: Bearer <metrics_token>"; anyone else gets 403. Behind a reverse proxy the
    # client address is the proxy's unless uvicorn trusts its X-Forwarded-For (--forwarded-allow-ips).
    metrics_token: str | None = Field(default=None, repr=False)
    metrics_allow_networks: list[str] = ["127.0.0.1/32", "::1/128"]
    # /readyz fails when the newest scheduler heartbeat (every 10 s from each scheduler) is older than this.
    scheduler_heartbeat_stale_seconds: int = Field(default=30, ge=5)

    @field_validator("metrics_allow_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"GOVFLOW_METRICS_ALLOW_NETWORKS：“{item}”不是有效的网段（例如 10.0.0.0/8）"
                                 f" / not a network (e.g. 10.0.0.0/8)") from None
        return value
    # Seconds between two runs of a scheduler job, by job id (app/scheduler/setup.py JOBS), replacing its
    # default interval, e.g. GOVFLOW_JOB_INTERVALS='{"escalate-overdue": 20}'. Unknown ids are refused at start.
    job_intervals: dict[str, Annotated[int, Field(ge=1, le=24 * 3600)]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if self.environment != "production":
            return self
        check_secret("GOVFLOW_SECRET_KEY", self.secret_key)
        if self.enable_time_travel:
            # Moving the business clock would move every statutory deadline (and, before real-time
            # expiry, logged everyone out): a demonstration feature only.
            raise ValueError("GOVFLOW_ENABLE_TIME_TRAVEL 在生产环境必须关闭（演示时钟只用于演示）"
                             " / GOVFLOW_ENABLE_TIME_TRAVEL must be off in production")
        return self

    @model_validator(mode="after")
    def _refuse_weak_audit_key(self) -> "Settings":
        if self.environment == "production":
            check_secret("GOVFLOW_AUDIT_KEY", self.audit_key)
            if self.audit_key == self.secret_key:
                raise ValueError("GOVFLOW_AUDIT_KEY 不能与 GOVFLOW_SECRET_KEY 相同"
                                 " / GOVFLOW_AUDIT_KEY must differ from GOVFLOW_SECRET_KEY")
        return self

    @field_validator("adjudication_number_pattern", "share_reply_number_pattern")
    @classmethod
    def _check_document_number_pattern(cls, value: str) -> str:
        # Refused at start-up rather than at the first signed decision (app/signing/documents.py check_pattern).
        import string
        try:
            fields = [(n, s, c) for _, n, s, c in string.Formatter().parse(value) if n is not None]
        except ValueError:
            fields = []
        if {n for n, _, _ in fields} != {"code", "year", "seq"} or any(s or c for _, s, c in fields):
            raise ValueError("文号格式须且只能使用 {code}、{year}、{seq} 三个字段，例如 {code}评〔{year}〕{seq}号")
        return value

    @model_validator(mode="after")
    def _check_master_keys(self) -> "Settings":
        from app.crypto.keys import KeyringError
        try:
            self.keyring()
        except KeyringError as exc:
            if self.master_keys or (self.environment == "production"
                                    and (self.encrypt_attachments or self.sign_documents)):
                raise ValueError(f"GOVFLOW_MASTER_KEYS：{exc}") from None
        return self

    def keyring(self):  # -> app.crypto.keys.Keyring
        """Return the master keys (development and test: one derived from the secret key if none is set)."""
        from app.crypto.algorithms import suite
        from app.crypto.keys import keyring_from
        return keyring_from(self.master_keys, self.master_key_id, suite(self.crypto_suite).cipher,
                            dev_secret=None if self.environment == "production" else self.secret_key)

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
