"""Use cases of the usage log (Art. 12): administer system clients, authenticate them, ingest batches of
events checked against their grants, and open a rectification notice from a flag (one commit each)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator
from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from app.audit import service as audit
from app.auth import service as auth_service
from app.auth.models import ThrottleScope
from app.core.clock import clock
from app.core import security
from app.core.config import Settings
from app.core.db import Database
from app.core.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound, TooManyRequests
from app.engine.runner import Runner
from app.external.topics import normalize_topics
from app.notifications.models import NotificationKind
from app.notifications.service import notify_many
from app.org.models import Department, DepartmentKind, Region, Role
from app.org.scope import hidden, may_read_case
from app.org.service import Actor, office_for
from app.rectification import flows as rectification_flows
from app.sharing.models import ShareGrant, ShareRequest, ShareRequestStatus
from app.usage import service
from app.usage.models import FLAG_ZH, METHOD_ZH, Flag, Scope, SystemClient, UsageEvent, UsageFlag

MAX_BATCH = 10_000
CODE = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")
SHANGHAI_OFFSET = timedelta(hours=8)
_COLUMNS = ("system_client_id", "event_id", "occurred_at", "grant_id", "provider_department_id",
            "consumer_department_id", "items", "row_count", "call_count", "method", "requesting_system",
            "requesting_user", "flags", "received_at")
# A reported time of use may run this far ahead of ours (the two systems' clocks differ a little).
CLOCK_SKEW = timedelta(minutes=10)
_EVENT = UsageEvent.__table__  # type: ignore[attr-defined]
_FLAG = UsageFlag.__table__  # type: ignore[attr-defined]
_CLIENT = SystemClient.__table__  # type: ignore[attr-defined]


# --- system clients -------------------------------------------------------------------------------------

class ClientCreate(BaseModel):
    code: str = Field(default="", max_length=64)
    name: str = Field(default="", max_length=128)
    department_code: str = Field(default="", max_length=64)
    scopes: list[Scope] = Field(default_factory=lambda: [Scope.usage_report], max_length=10)
    topics: list[str] = Field(default_factory=list, max_length=200,
                              description="可领取的外部任务主题（权限范围含 external_task:work 时必填）：主题名，"
                                          "或以 .* 结尾的前缀（如 exchange.*）；最多 20 个")


class ClientTopics(BaseModel):
    topics: list[str] = Field(max_length=200, description="可领取的外部任务主题：主题名，或以 .* 结尾的前缀；最多 20 个")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _require_admin(actor: Actor) -> None:
    if not actor.has_role(Role.admin.value):
        raise Forbidden("只有系统管理员可以管理系统凭据", code="admin_required")


def _checked_topics(scopes: list[str], raw: list[str]) -> list[str]:
    """A worker system (external_task:work) must name at least one topic; any other system none."""
    topics = normalize_topics(raw)
    if Scope.external_task_work.value in scopes:
        if not topics:
            raise InvalidInput("领取外部任务的系统须至少填写一个可领取的主题（如 exchange.grant，或 exchange.* "
                               "表示以 exchange. 开头的所有主题）", code="client_topics_required")
    elif topics:
        raise InvalidInput("只有具有“领取并办理外部任务”权限（external_task:work）的系统才能填写可领取的主题",
                           code="client_topics_without_scope")
    return topics


def create_client(session: Session, actor: Actor, data: ClientCreate) -> tuple[SystemClient, str]:
    """Register a system and return it with its secret, shown this once (only its hash is kept)."""
    _require_admin(actor)
    code, name = data.code.strip(), data.name.strip()
    if not CODE.match(code):
        raise InvalidInput("系统编码须为 3–64 位小写字母、数字或 . _ -，以字母或数字开头", code="client_code_invalid")
    if len(name) < 2:
        raise InvalidInput("请填写系统名称（至少 2 个字）", code="client_name_required")
    if not data.scopes:
        raise InvalidInput("请至少选择一项权限范围", code="client_scopes_required")
    scopes = sorted({s.value for s in data.scopes})
    topics = _checked_topics(scopes, data.topics)
    department = session.execute(select(Department).where(
        Department.code == data.department_code.strip())).scalar_one_or_none()
    if department is None or not department.is_active:
        raise InvalidInput(f"部门“{data.department_code}”不存在", code="department_not_found")
    if service.get_client_by_code(session=session, code=code) is not None:
        raise Conflict(f"系统编码“{code}”已被使用", code="client_code_taken")
    now, secret = clock.now(), secrets.token_urlsafe(32)
    client = SystemClient(code=code, name=name, department_id=department.id or 0,
                          scopes=scopes, topics=topics, secret_hash=hash_secret(secret),
                          is_active=True, created_by=actor.username, created_at=now)
    session.add(client)
    session.flush()
    audit.append(session, at=now, actor=actor.username, action="system_client.created", entity_type="system_client",
                 entity_id=client.id or 0, detail={"code": code, "department": department.code,
                                                   "scopes": client.scopes, "topics": client.topics})
    session.commit()
    return client, secret


def set_topics(session: Session, actor: Actor, client_id: int, data: ClientTopics) -> SystemClient:
    """Replace a worker system's topics; it takes effect on its next request (even for tasks it holds)."""
    client = _active_client(session, actor, client_id, "该系统凭据已停用，不能修改可领取的主题")
    if Scope.external_task_work.value not in client.scopes:
        raise InvalidInput("只有具有“领取并办理外部任务”权限（external_task:work）的系统才能设置可领取的主题",
                           code="client_topics_without_scope")
    topics = _checked_topics(client.scopes, data.topics)
    before = list(client.topics or [])
    if topics == before:
        return client
    now = clock.now()
    client.topics = topics
    session.add(client)
    audit.append(session, at=now, actor=actor.username, action="system_client.topics_changed",
                 entity_type="system_client", entity_id=client.id or 0,
                 detail={"code": client.code, "before": before, "after": topics,
                         "added": sorted(set(topics) - set(before)), "removed": sorted(set(before) - set(topics))})
    session.commit()
    return client


def _not_found() -> NotFound:
    return NotFound("系统凭据不存在", code="client_not_found")


def _active_client(session: Session, actor: Actor, client_id: int, inactive_zh: str) -> SystemClient:
    """An administrator's change to a system client: the client, locked, still active (else 404 / 409)."""
    _require_admin(actor)
    client = session.get(SystemClient, client_id, with_for_update=True)
    if client is None:
        raise _not_found()
    if not client.is_active:
        raise Conflict(inactive_zh, code="client_inactive")
    return client


def rotate_secret(session: Session, actor: Actor, client_id: int) -> tuple[SystemClient, str]:
    """Give a system a new secret (the old one stops working at once); return it, shown this once."""
    client = _active_client(session, actor, client_id, "该系统凭据已停用，不能更换密钥")
    now, secret = clock.now(), secrets.token_urlsafe(32)
    client.secret_hash, client.rotated_at = hash_secret(secret), now
    audit.append(session, at=now, actor=actor.username, action="system_client.rotated", entity_type="system_client",
                 entity_id=client.id or 0, detail={"code": client.code})
    session.commit()
    return client, secret


def deactivate_client(session: Session, actor: Actor, client_id: int) -> SystemClient:
    """Stop a system's credentials for good (its reported events stay)."""
    client = _active_client(session, actor, client_id, "该系统凭据已停用")
    now = clock.now()
    client.is_active, client.deactivated_at = False, now
    audit.append(session, at=now, actor=actor.username, action="system_client.deactivated",
                 entity_type="system_client", entity_id=client.id or 0, detail={"code": client.code})
    session.commit()
    return client


# --- authentication of a system (HTTP Basic: client code and secret) --------------------------------------

class ClientNotAuthenticated(NotAuthenticated):
    code = "client_not_authenticated"
    message_zh = "系统凭据无效：请用 HTTP Basic 认证提交系统编码和密钥"
    message_en = "Invalid system credentials: send the client code and secret with HTTP Basic"

    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": 'Basic realm="govflow-systems", charset="UTF-8"'}


_DUMMY_HASH = hash_secret("no such client")


def parse_basic(header: str | None) -> tuple[str, str]:
    """Return the (code, secret) of an Authorization: Basic header, or raise 401."""
    if not header or not header[:6].lower() == "basic ":
        raise ClientNotAuthenticated()
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ClientNotAuthenticated() from None
    code, sep, secret = raw.partition(":")
    if not sep or not code or not secret or len(code) > 64 or len(secret) > 256:
        raise ClientNotAuthenticated()
    return code, secret


def authenticate(db: Database, settings: Settings, header: str | None, scope: Scope) -> SystemClient:
    """Return the active system client whose code and secret the header carries, holding the scope.

    Wrong secrets are counted per client code like failed logins (app/auth): at the limit the code is
    locked out for a while, before any secret is compared. The count commits in its own transaction.
    """
    code, secret = parse_basic(header)
    key, now = code.lower()[:128], security.utcnow()  # lockouts run on real time, not the business clock
    with db.session() as session:
        locked = auth_service.locked_until(session=session, keys={ThrottleScope.client: key}, now=now)
        if locked is not None:
            retry = max(1, int((locked[1] - now).total_seconds()))
            raise TooManyRequests("该系统凭据错误次数过多，已暂时锁定", code="client_locked", retry_after=retry)
        client = service.get_client_by_code(session=session, code=code)
        good = hmac.compare_digest(client.secret_hash if client else _DUMMY_HASH, hash_secret(secret))
        if client is None or not good or not client.is_active:
            if not good or client is None:
                auth_service.record_failure(
                    session=session, scope=ThrottleScope.client, key=key, now=now,
                    limit=settings.login_max_failures_per_account,
                    window=timedelta(minutes=settings.login_failure_window_minutes),
                    lockout=timedelta(minutes=settings.login_lockout_minutes))
                session.commit()
            raise ClientNotAuthenticated()
        session.expunge(client)
    if scope.value not in client.scopes:
        raise Forbidden("该系统凭据没有此项权限", code="client_scope_required", extra={"scope": scope.value})
    return client


# --- ingestion ------------------------------------------------------------------------------------------

class EventIn(BaseModel):
    event_id: str = Field(min_length=1, max_length=64)
    grant_id: int = Field(ge=1, le=2**31 - 1)
    items: list[str] = Field(min_length=1, max_length=500)
    rows: int | None = Field(default=None, ge=0, le=2**62)
    calls: int | None = Field(default=None, ge=0, le=2**62)
    method: Literal["api", "table", "file"]
    occurred_at: AwareDatetime
    requesting_system: str = Field(min_length=1, max_length=128)
    requesting_user: str = Field(min_length=1, max_length=128)

    @model_validator(mode="after")
    def _volume(self) -> "EventIn":
        if self.rows is None and self.calls is None:
            raise ValueError("每条记录须给出 rows（条数）或 calls（调用次数）")
        if any(not item or len(item) > 128 for item in self.items):
            raise ValueError("数据项名称须为 1–128 个字符")
        return self


class EventBatch(BaseModel):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


REJECT_ZH = {
    "grant_not_found": "共享授权不存在",
    "grant_out_of_scope": "该共享授权不属于本系统所属部门或其主管范围",
    "occurred_in_future": "使用时间晚于当前时间",
    "occurred_before_retention": "使用时间早于保存期限（24 个月），不再接收",
    "duplicate_in_batch": "同一批次中事件编号重复",
}


@dataclass
class Ingested:
    accepted: int
    duplicates: int
    flagged: int
    flags: dict[str, int]
    rejected: list[dict[str, Any]]
    new_flags: int

    def public(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "flagged": self.flagged,
                "flags": self.flags, "rejected": self.rejected, "new_flags": self.new_flags}


def _covered_regions(session: Session, root: str) -> set[str]:
    """Return a region's code and those of every region inside it (a few hundred rows, read once a batch)."""
    children: dict[str | None, list[str]] = defaultdict(list)
    for code, parent in session.execute(select(Region.code, Region.parent_code)):
        children[parent].append(code)
    found, todo = set(), [root]
    while todo:
        code = todo.pop()
        if code not in found:
            found.add(code)
            todo.extend(children.get(code, ()))
    return found


def _insert(session: Session, table: Any) -> Any:
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


def ingest(session: Session, settings: Settings, client: SystemClient, batch: EventBatch) -> Ingested:
    """Store a batch of events once each (a resend counts as duplicate), check each against its grant, and
    notify the parties of a flagged grant once per day of use. One commit."""
    now = clock.now()
    events = batch.events
    grant_ids = sorted({e.grant_id for e in events})
    grants: dict[int, tuple[Any, ...]] = {}
    for i in range(0, len(grant_ids), 900):
        for row in session.execute(
                select(ShareGrant.id, ShareGrant.provider_department_id, ShareGrant.consumer_department_id,
                       ShareGrant.items, ShareGrant.method, ShareGrant.valid_from, ShareGrant.valid_to,
                       ShareRequest.status)
                .join(ShareRequest, ShareRequest.id == ShareGrant.share_request_id)
                .where(ShareGrant.id.in_(grant_ids[i:i + 900]))):
            grants[row[0]] = (row[1], row[2], frozenset(row[3] or ()), row[4], row[5], row[6], row[7])
    owner = session.get(Department, client.department_id)
    assert owner is not None
    covered: set[int] | None = None
    if owner.kind == DepartmentKind.data_authority.value:
        regions = _covered_regions(session, owner.region_code)
        party_ids = {g[0] for g in grants.values()} | {g[1] for g in grants.values()}
        covered = {d for d, r in session.execute(select(Department.id, Department.region_code).where(
            Department.id.in_(party_ids))) if r in regions} if party_ids else set()
    cutoff, latest = service.retention_cutoff(now), now + CLOCK_SKEW
    rejected: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, datetime]] = set()
    duplicates = 0
    granted = ShareRequestStatus.granted.value
    for index, e in enumerate(events):
        grant = grants.get(e.grant_id)
        reason = None
        if grant is None:
            reason = "grant_not_found"
        elif (covered is None and client.department_id not in (grant[0], grant[1])) or (
                covered is not None and grant[0] not in covered and grant[1] not in covered):
            reason = "grant_out_of_scope"
        elif e.occurred_at > latest:
            reason = "occurred_in_future"
        elif e.occurred_at < cutoff:
            reason = "occurred_before_retention"
        if reason is not None:
            rejected.append({"index": index, "event_id": e.event_id, "code": reason, "message": REJECT_ZH[reason]})
            continue
        key = (e.event_id, e.occurred_at)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        provider, consumer, items, method, valid_from, valid_to, status = grant  # type: ignore[misc]
        flags = []
        # Asia/Shanghai keeps +08:00 all year: the day of use without a time-zone lookup per event.
        at = e.occurred_at
        day = (at - at.utcoffset() + SHANGHAI_OFFSET).date()  # type: ignore[operator]
        if not valid_from <= day <= valid_to:
            flags.append(Flag.outside_period.value)
        if not items.issuperset(e.items):
            flags.append(Flag.items_not_granted.value)
        if e.method != method:
            flags.append(Flag.method_not_granted.value)
        if status != granted:
            flags.append(Flag.grant_withdrawn.value)
        rows.append({"system_client_id": client.id, "event_id": e.event_id, "occurred_at": e.occurred_at,
                     "grant_id": e.grant_id, "provider_department_id": provider,
                     "consumer_department_id": consumer, "items": e.items, "row_count": e.rows,
                     "call_count": e.calls, "method": e.method, "requesting_system": e.requesting_system,
                     "requesting_user": e.requesting_user, "flags": ",".join(flags) or None, "received_at": now})
    stored = _store(session, rows) if rows else []
    duplicates += len(rows) - len(stored)
    flagged_rows = [r for r in stored if r["flags"]]
    counts: dict[str, int] = {}
    for r in flagged_rows:
        for code in r["flags"].split(","):
            counts[code] = counts.get(code, 0) + 1
    new_flags = _record_flags(session, settings, client, flagged_rows, now) if flagged_rows else 0
    session.execute(update(_CLIENT).where(_CLIENT.c.id == client.id).values(last_used_at=now))
    audit.append(session, at=now, actor=f"system:{client.code}", action="usage.batch_ingested",
                 entity_type="system_client", entity_id=client.id or 0,
                 detail={"accepted": len(stored), "duplicates": duplicates, "flagged": len(flagged_rows),
                         "rejected": len(rejected)})
    session.commit()
    return Ingested(accepted=len(stored), duplicates=duplicates, flagged=len(flagged_rows), flags=counts,
                    rejected=rejected, new_flags=new_flags)


def _store(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert the events, skipping those stored before (same system, event id and time); return the new ones.

    PostgreSQL: COPY into a session-local staging table, then one INSERT ... SELECT ... ON CONFLICT DO
    NOTHING (a multi-row VALUES statement of 10,000 rows spends most of its time being parsed by the
    driver). SQLite: one executemany of the same INSERT.
    """
    unique_ids = len({r["event_id"] for r in rows}) == len(rows)
    if session.get_bind().dialect.name != "postgresql":
        stmt = (_insert(session, _EVENT).on_conflict_do_nothing(
            index_elements=["system_client_id", "event_id", "occurred_at"])
            .returning(_EVENT.c.event_id, _EVENT.c.occurred_at))
        new = {(r[0], r[1]) for r in session.execute(stmt, rows)}
        return [r for r in rows if (r["event_id"], r["occurred_at"]) in new]
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    columns = ", ".join(_COLUMNS)
    cursor.execute("CREATE TEMP TABLE IF NOT EXISTS usage_event_stage (LIKE usage_event) ON COMMIT DELETE ROWS")
    encoded: dict[tuple[str, ...], str] = {}  # a batch repeats a few lists of items many times
    with cursor.copy(f"COPY usage_event_stage ({columns}) FROM STDIN") as copy:
        for r in rows:
            key = tuple(r["items"])
            items = encoded.get(key)
            if items is None:
                items = encoded[key] = json.dumps(r["items"], ensure_ascii=False)
            copy.write_row((r["system_client_id"], r["event_id"], r["occurred_at"], r["grant_id"],
                            r["provider_department_id"], r["consumer_department_id"], items, r["row_count"],
                            r["call_count"], r["method"], r["requesting_system"], r["requesting_user"], r["flags"],
                            r["received_at"]))
    returning = "event_id" if unique_ids else "event_id, occurred_at"
    cursor.execute(f"INSERT INTO usage_event ({columns}) SELECT {columns} FROM usage_event_stage "
                   f"ON CONFLICT DO NOTHING RETURNING {returning}")
    found = cursor.fetchall()
    cursor.execute("TRUNCATE usage_event_stage")
    cursor.close()
    if len(found) == len(rows):
        return rows
    if unique_ids:
        new_ids = {f[0] for f in found}
        return [r for r in rows if r["event_id"] in new_ids]
    new = {(f[0], f[1]) for f in found}
    return [r for r in rows if (r["event_id"], r["occurred_at"]) in new]


def _record_flags(session: Session, settings: Settings, client: SystemClient, flagged: list[dict[str, Any]],
                  now: datetime) -> int:
    """Add flagged events to their grant's flag of the day; notify the parties when a flag is new."""
    groups: dict[tuple[int, Any], dict[str, Any]] = {}
    for r in flagged:
        key = (r["grant_id"], service.shanghai_day(r["occurred_at"]))
        group = groups.get(key)
        if group is None:
            groups[key] = {"grant_id": key[0], "day": key[1], "provider_department_id": r["provider_department_id"],
                           "consumer_department_id": r["consumer_department_id"], "reasons": set(), "events": 0,
                           "first_event_id": r["event_id"], "first_occurred_at": r["occurred_at"]}
            group = groups[key]
        group["events"] += 1
        group["reasons"].update(r["flags"].split(","))
        if r["occurred_at"] < group["first_occurred_at"]:
            group["first_event_id"], group["first_occurred_at"] = r["event_id"], r["occurred_at"]
    values = [{**g, "reasons": sorted(g["reasons"]), "system_client_id": client.id, "created_at": now,
               "rectification_notice_id": None} for g in groups.values()]
    # A concurrent batch may create the same (grant, day): ON CONFLICT leaves its row, and it is counted into.
    created = {(r[0], r[1]): r[2] for r in session.execute(
        _insert(session, _FLAG).on_conflict_do_nothing(index_elements=["grant_id", "day"])
        .returning(_FLAG.c.grant_id, _FLAG.c.day, _FLAG.c.id), values)}
    older = [k for k in groups if k not in created]
    if older:
        changes = []
        for flag in session.execute(select(UsageFlag).where(
                UsageFlag.grant_id.in_({k[0] for k in older}), UsageFlag.day.in_({k[1] for k in older}))
                .with_for_update()).scalars():
            group = groups.get((flag.grant_id, flag.day))
            if group is not None and (flag.grant_id, flag.day) not in created:
                changes.append({"flag_id": flag.id, "more": group["events"],
                                "merged": sorted(set(flag.reasons) | group["reasons"])})
        if changes:
            session.execute(update(_FLAG).where(_FLAG.c.id == bindparam("flag_id")).values(
                events=_FLAG.c.events + bindparam("more"), reasons=bindparam("merged", type_=_FLAG.c.reasons.type)),
                changes)
    if created:
        _notify_flags(session, settings, [(fid, groups[key]) for key, fid in created.items()], now)
    return len(created)


def _notify_flags(session: Session, settings: Settings, flags: list[tuple[int, dict[str, Any]]], now: datetime
                  ) -> None:
    """Tell both departments (clerks and heads) and each one's data authority about the new flags: each flag
    (a grant and a day) in exactly one notification, one per recipient and batch (a batch of 10,000 events
    may raise hundreds of flags; nobody should get hundreds of messages for it)."""
    ids = {g["provider_department_id"] for _, g in flags} | {g["consumer_department_id"] for _, g in flags}
    departments = service.departments_by_id(session, ids)
    authorities: dict[str, Department | None] = {}
    per_target: dict[tuple[int, str], list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for flag_id, g in flags:
        provider, consumer = departments[g["provider_department_id"]], departments[g["consumer_department_id"]]
        targets: list[tuple[int, str]] = [(provider.id or 0, Role.clerk.value), (provider.id or 0, Role.head.value),
                                          (consumer.id or 0, Role.clerk.value), (consumer.id or 0, Role.head.value)]
        for dept in (provider, consumer):
            if dept.region_code not in authorities:
                authorities[dept.region_code] = office_for(session=session, region_code=dept.region_code,
                                                           kind=DepartmentKind.data_authority)
            authority = authorities[dept.region_code]
            if authority is not None:
                targets.append((authority.id or 0, Role.authority_reviewer.value))
        for target in dict.fromkeys(targets):
            per_target[target].append((flag_id, g))
    first, last = min(f for f, _ in flags), max(f for f, _ in flags)
    notes: list[dict[str, Any]] = []
    for (department_id, role), mine in per_target.items():
        lines = []
        for _, g in mine[:10]:
            reasons = "、".join(FLAG_ZH.get(Flag(c), c) for c in sorted(g["reasons"]))
            lines.append(f"授权 {g['grant_id']}（{departments[g['provider_department_id']].name}→"
                         f"{departments[g['consumer_department_id']].name}，{g['day']}）：{reasons}，{g['events']} 条")
        more = f"等 {len(mine)} 项" if len(mine) > 10 else ""
        if len(mine) == 1:
            g = mine[0][1]
            title, link = f"共享数据使用异常：授权 {g['grant_id']}（{g['day']}）", f"/usage/grants/{g['grant_id']}"
        else:
            title = f"共享数据使用异常：{len(mine)} 项授权与日期"
            link = "/usage" if role == Role.authority_reviewer.value else f"/usage/departments/{department_id}"
        notes.append({"department_id": department_id, "role": role, "kind": NotificationKind.usage_flagged.value,
                      "title": title, "body": "；".join(lines) + more + "。请核实。", "link": link,
                      # the flags' ids are new in this batch: the key is this batch's, for every recipient
                      "dedupe_key": f"usage-flags:{first}-{last}", "at": now})
    notify_many(session, notes, settings=settings)


# --- a flag opens a rectification notice (Art. 29 (5)) -----------------------------------------------------

ARTICLE_ITEM = 5  # Art. 29 (5): 未落实政务数据安全职责的


class FlagNoticeBody(BaseModel):
    department: Literal["consumer", "provider"] = "consumer"
    deadline_working_days: int = Field(default=10, ge=1, le=365)
    requirements: str = Field(default="", max_length=5000)


def flag_facts(session: Session, flag: UsageFlag) -> str:
    """Write the facts of a flag as a notice states them."""
    departments = service.departments_by_id(session, {flag.provider_department_id, flag.consumer_department_id})
    grant = session.get(ShareGrant, flag.grant_id)
    reasons = "、".join(FLAG_ZH.get(Flag(c), c) for c in flag.reasons)
    period = f"{grant.valid_from}至{grant.valid_to}" if grant else ""
    method = METHOD_ZH.get(grant.method, grant.method) if grant else ""
    items = "、".join(grant.items) if grant else ""
    return (f"{flag.day}，共享交换系统报送的数据提供使用日志显示：{departments[flag.provider_department_id].name}"
            f"依共享授权（编号 {flag.grant_id}，使用期限 {period}，共享方式 {method}，授权数据项 {items}）"
            f"向{departments[flag.consumer_department_id].name}提供数据，有 {flag.events} 条记录不符合授权："
            f"{reasons}（首条记录编号 {flag.first_event_id}，"
            f"时间 {flag.first_occurred_at.astimezone(service.SHANGHAI):%Y-%m-%d %H:%M}）。")


DEFAULT_REQUIREMENTS = "核查上述超出共享授权使用政务数据的情况，停止不符合授权的使用，落实数据安全责任，并报告整改结果。"


def get_visible_flag(session: Session, actor: Actor, flag_id: int) -> UsageFlag:
    """Return a flag the person may read (the two departments' staff, their overseers, an admin), else 404."""
    flag = session.get(UsageFlag, flag_id)
    if flag is None or not may_read_case(session=session, actor=actor,
                                         parties=(flag.provider_department_id, flag.consumer_department_id)):
        raise hidden("异常使用记录不存在", code="usage_flag_not_found")
    return flag


def open_rectification(session: Session, runner: Runner, settings: Settings, actor: Actor, flag_id: int,
                       body: FlagNoticeBody) -> Any:
    """Issue a rectification notice (Art. 29 (5)) about a flag, its facts filled in, and link the two."""
    flag = get_visible_flag(session, actor, flag_id)
    if flag.rectification_notice_id is not None:
        raise Conflict("该异常使用已发出整改通知", code="usage_flag_notice_exists",
                       extra={"notice_id": flag.rectification_notice_id})
    target = session.get(Department, flag.consumer_department_id if body.department == "consumer"
                         else flag.provider_department_id)
    assert target is not None
    data = rectification_flows.NoticeCreate(
        department_code=target.code, article_item=ARTICLE_ITEM, facts=flag_facts(session, flag),
        requirements=body.requirements.strip() or DEFAULT_REQUIREMENTS,
        deadline_working_days=body.deadline_working_days)
    # The rectification flow checks who may issue (an authority reviewer, to a department of its level)
    # and commits the notice with its process; the link to the flag rides in the same transaction.
    def link(notice: Any) -> None:
        session.execute(update(_FLAG).where(_FLAG.c.id == flag.id).values(rectification_notice_id=notice.id))
        audit.append(session, at=notice.issued_at, actor=actor.username, action="usage.rectification_opened",
                     entity_type="usage_flag", entity_id=flag.id or 0,
                     detail={"notice_id": notice.id, "number": notice.number, "grant_id": flag.grant_id})

    return rectification_flows.issue(session, runner, settings, actor, data, also=link)
