"""The authorization matrix (issue 9): every route of the app × every demo user and anonymous × objects of
the caller's own department, another department of the same level, a department of another level.

The routes come from the app's route table (every OpenAPI operation and every page). Each one must be in
`EXPECT`, the explicit table of who may get a 2xx (for a page, also a redirect that is not to the login
page): an unknown route fails, so a new route must be added here. Any 2xx not allowed fails, listing every
offender of the route at once; any 5xx fails; and a reader the table allows must not get a 404 on a read,
so the fixture objects are proven to be the ones the table speaks of.

The objects are built once per module with the real flows, in two sets: "P" (provincial departments) and
"C" (郑州 departments), plus a designer's trial instance "T". Unsafe methods are sent by everyone the table
does not allow (and anonymous) with a plausible body, so the refusal, not a missing field, is what is
tested where a valid body is easy to build; callers the table allows are not sent (they would change
the objects the other cases read; their flows have their own tests). Writes target the provincial set
only (for 郑州's and 中牟's users it is the other level), which keeps the module well under a minute."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from app.core.clock import SHANGHAI, clock
from app.runtime import build_runtime
from tests.conftest import DEMO_PASSWORD, Template, _pg_admin, _settings

ROOT = Path(__file__).resolve().parents[2]
DEMO = json.loads((ROOT / "data" / "demo-410000.json").read_text(encoding="utf-8"))
USERS: dict[str, str] = {u["username"]: u["department_code"] for u in DEMO["users"]}
LEVEL = {d["code"]: ("province" if d["region_code"].endswith("0000") else
                     "city" if d["region_code"].endswith("00") else "county") for d in DEMO["departments"]}
ANON = "anonymous"
CALLERS = [*USERS, ANON]

EVERYONE = frozenset(USERS)
PUBLIC = EVERYONE | {ANON}
ADMIN = frozenset({"demo_admin"})
DESIGNERS = ADMIN | {"designer"}
AUTHORITIES = ADMIN | {"data_reviewer", "zz_data_reviewer"}
SUPERVISORS = ADMIN | {"gov_supervisor", "zz_supervisor"}
CLERKS = frozenset({"rst_clerk", "gat_clerk", "scjg_clerk", "zz_clerk", "zm_clerk"})
NOBODY: frozenset[str] = frozenset()

# Who may read each fixture object: the parties' staff, the overseers whose area holds it, an admin.
PROVINCE_OVERSEERS = {"data_reviewer", "gov_supervisor", "demo_admin"}
CITY_OVERSEERS = {"zz_data_reviewer", "zz_supervisor"} | PROVINCE_OVERSEERS
GAT = {"gat_clerk", "gat_reviewer", "gat_head"}
ZZ_PAIR = {"zz_clerk", "zz_reviewer"}
READERS: dict[tuple[str, str], frozenset[str]] = {
    # 省人社厅 asks 省公安厅; 郑州市人社局 asks 郑州市公安局.
    ("share_request", "P"): frozenset({"rst_clerk", *GAT, *PROVINCE_OVERSEERS}),
    ("share_request", "C"): frozenset({*ZZ_PAIR, *CITY_OVERSEERS}),
    ("instance", "P"): frozenset({"rst_clerk", *GAT, *PROVINCE_OVERSEERS}),
    ("instance", "C"): frozenset({*ZZ_PAIR, *CITY_OVERSEERS}),
    # A designer's trial run: designers and admins only, never the staff its tasks would go to.
    ("instance", "T"): DESIGNERS,
    ("task", "P"): frozenset({"rst_clerk", *GAT, *PROVINCE_OVERSEERS}),
    ("task", "C"): frozenset({*ZZ_PAIR, *CITY_OVERSEERS}),
    # The same pairs in dispute, before the province's and the city's authority.
    ("dispute", "P"): frozenset({"rst_clerk", *GAT, *PROVINCE_OVERSEERS}),
    ("dispute", "C"): frozenset({*ZZ_PAIR, *CITY_OVERSEERS}),
    # A notice to 省人社厅 from the province's authority; to 郑州市人社局 from the city's.
    ("notice", "P"): frozenset({"rst_clerk", *PROVINCE_OVERSEERS}),
    ("notice", "C"): frozenset({"zz_clerk", *CITY_OVERSEERS}),
    # Drafts (catalog version, open list) of 省公安厅 and 郑州市人社局.
    ("version", "P"): frozenset({*GAT, *PROVINCE_OVERSEERS}),
    ("version", "C"): frozenset({"zz_clerk", *CITY_OVERSEERS}),
    ("open_list", "P"): frozenset({*GAT, *PROVINCE_OVERSEERS}),
    ("open_list", "C"): frozenset({"zz_clerk", *CITY_OVERSEERS}),
    # Files of a dispute: its parties and its authority only (no supervisor).
    ("attachment", "P"): frozenset({"rst_clerk", *GAT, "data_reviewer", "demo_admin"}),
    ("attachment", "C"): frozenset({*ZZ_PAIR, "zz_data_reviewer", "demo_admin"}),
    # The supervision item of the province's overdue notice: the province's 督查室.
    ("item", "P"): frozenset({"gov_supervisor", "demo_admin"}),
    # A notification is its addressee's.
    ("notification", "P"): frozenset({"gat_reviewer"}),
    ("notification", "C"): frozenset({"zz_reviewer"}),
    # A 委派 of a provincial review task: the reviewer who asked and the head it went to.
    ("side_task", "P"): frozenset({"gat_reviewer", "gat_head"}),
    # New business systems (Art. 7) of 省公安厅 and 郑州市人社局: the department and its level's overseers.
    ("system", "P"): frozenset({*GAT, *PROVINCE_OVERSEERS}),
    ("system", "C"): frozenset({"zz_clerk", *CITY_OVERSEERS}),
    # Art. 12 usage: 省市场监管局's grant to 省人社厅 (unconditional) and a flag of its use; a department's usage
    # (省人社厅, 郑州市人社局): the departments' staff and the overseers of their area.
    ("grant", "P"): frozenset({"rst_clerk", "scjg_clerk", "scjg_reviewer", *PROVINCE_OVERSEERS}),
    ("flag", "P"): frozenset({"rst_clerk", "scjg_clerk", "scjg_reviewer", *PROVINCE_OVERSEERS}),
    ("usage_department", "P"): frozenset({"rst_clerk", *PROVINCE_OVERSEERS}),
    ("usage_department", "C"): frozenset({"zz_clerk", *CITY_OVERSEERS}),
    # An exchange system's credentials: administrators only.
    ("client", "P"): ADMIN,
    # An external task of a process (issue 16), in an incident: its workers are systems; administrators
    # list and retry incidents.
    ("external_task", "P"): ADMIN,
}
# The departments each object belongs to (for the relation a failure names).
PARTIES: dict[tuple[str, str], set[str]] = {
    ("share_request", "P"): {"410000-rst", "410000-gat"}, ("share_request", "C"): {"410100-rsj", "410100-gaj"},
    ("dispute", "P"): {"410000-rst", "410000-gat", "410000-data"},
    ("dispute", "C"): {"410100-rsj", "410100-gaj", "410100-data"},
    ("notice", "P"): {"410000-rst", "410000-data"}, ("notice", "C"): {"410100-rsj", "410100-data"},
    ("version", "P"): {"410000-gat"}, ("version", "C"): {"410100-rsj"},
    ("item", "P"): {"410000-gov"}, ("instance", "T"): {"410000-data"},
}
for _kind in ("instance", "task", "attachment"):
    PARTIES[(_kind, "P")], PARTIES[(_kind, "C")] = PARTIES[("share_request", "P")], PARTIES[("share_request", "C")]
PARTIES[("attachment", "P")], PARTIES[("attachment", "C")] = PARTIES[("dispute", "P")], PARTIES[("dispute", "C")]
PARTIES[("open_list", "P")], PARTIES[("open_list", "C")] = PARTIES[("version", "P")], PARTIES[("version", "C")]
PARTIES[("notification", "P")], PARTIES[("notification", "C")] = {"410000-gat"}, {"410100-gaj"}
PARTIES[("side_task", "P")] = {"410000-gat"}
PARTIES[("system", "P")], PARTIES[("system", "C")] = {"410000-gat", "410000-data"}, {"410100-rsj", "410100-data"}
PARTIES[("grant", "P")] = PARTIES[("flag", "P")] = {"410000-rst", "410000-scjg"}
PARTIES[("client", "P")] = {"410000-data"}
PARTIES[("external_task", "P")] = {"410000-gat"}
PARTIES[("usage_department", "P")], PARTIES[("usage_department", "C")] = {"410000-rst"}, {"410100-rsj"}


@dataclass(frozen=True)
class Reads:
    """Allowed: the readers of the object the path points at (READERS)."""

    kind: str


Rule = frozenset[str] | Reads

# Which object a path parameter names (the first one found decides the route's object kind).
PARAM_KIND = {"share_request_id": "share_request", "task_id": "task", "instance_id": "instance",
              "dispute_id": "dispute", "notice_id": "notice", "version_id": "version",
              "open_list_id": "open_list", "item_id": "item", "attachment_id": "attachment",
              "notification_id": "notification", "side_task_id": "side_task", "system_id": "system",
              "grant_id": "grant", "flag_id": "flag", "department_id": "usage_department", "client_id": "client",
              "external_task_id": "external_task", "incident_id": "external_task"}

R_SR, R_TASK, R_INST, R_DISP = Reads("share_request"), Reads("task"), Reads("instance"), Reads("dispute")
R_NOTICE, R_VER, R_LIST, R_ITEM = Reads("notice"), Reads("version"), Reads("open_list"), Reads("item")
R_FILE, R_NOTE, R_SYS = Reads("attachment"), Reads("notification"), Reads("system")

# Who may get a 2xx, per route. Writes on a case name its readers: the matrix proves that no one outside
# the case's lines can act on it; who inside may do which step is each area's own tests' business.
EXPECT: dict[tuple[str, str], Rule] = {
    # The framework's own pages: the API description is public (it is the contract).
    ("GET", "/openapi.json"): PUBLIC, ("GET", "/docs"): PUBLIC, ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    # Operations (issue 13): the probes are public and reveal nothing; /metrics answers by network or
    # token, never by user role (the test client's address "testclient" is in no allowed network).
    ("GET", "/healthz"): PUBLIC, ("GET", "/readyz"): PUBLIC, ("GET", "/metrics"): NOBODY,
    # Sign-in and who am I.
    ("POST", "/api/auth/token"): PUBLIC, ("GET", "/api/me"): EVERYONE,
    # Ending one's own sessions: any logged-in person (allowed callers are not called, so no one's
    # token is revoked mid-run; tests/api/test_login_sessions.py covers what they do).
    ("POST", "/api/auth/logout"): EVERYONE, ("POST", "/api/auth/logout-everywhere"): EVERYONE,
    ("POST", "/api/admin/users/{username}/logout-everywhere"): ADMIN,
    ("GET", "/login"): PUBLIC, ("POST", "/login"): PUBLIC, ("POST", "/logout"): EVERYONE,
    ("GET", "/"): EVERYONE,
    # The language switch: anyone, the login page's visitor included (it sets their own preference only).
    ("POST", "/me/language"): PUBLIC,
    # Administration.
    ("POST", "/api/admin/departments"): ADMIN, ("POST", "/api/admin/users"): ADMIN,
    ("GET", "/api/admin/audit/verify"): ADMIN, ("GET", "/api/admin/roles"): ADMIN,
    ("GET", "/api/admin/calendar/years"): ADMIN, ("POST", "/api/admin/calendar/years"): ADMIN,
    ("GET", "/api/admin/clock"): ADMIN, ("PUT", "/api/admin/clock"): ADMIN,
    ("POST", "/api/admin/jobs/{job_id}/run"): ADMIN,
    ("GET", "/admin/calendar"): ADMIN, ("POST", "/admin/calendar"): ADMIN, ("POST", "/admin/clock"): ADMIN,
    ("POST", "/admin/jobs/{job_id}"): ADMIN,
    ("GET", "/api/admin/stuck-instances"): ADMIN, ("GET", "/admin/stuck-instances"): ADMIN,
    ("GET", "/api/calendar/deadline"): EVERYONE,
    # The published catalog is public to every logged-in user by design (Art. 13); drafts are not.
    ("POST", "/api/catalog/entries"): CLERKS | ADMIN, ("GET", "/api/catalog/entries"): EVERYONE,
    ("GET", "/api/catalog/levels"): EVERYONE, ("GET", "/api/catalog/export"): EVERYONE,
    ("GET", "/api/catalog/template"): EVERYONE, ("GET", "/api/catalog/entries/{entry_code:path}"): EVERYONE,
    ("GET", "/catalog"): EVERYONE,
    ("POST", "/api/catalog/versions"): CLERKS, ("GET", "/api/catalog/versions"): EVERYONE,
    ("GET", "/catalog/versions"): EVERYONE, ("POST", "/catalog/versions"): CLERKS,
    ("GET", "/api/catalog/versions/compare"): R_VER, ("GET", "/catalog/compare"): R_VER,
    ("GET", "/api/catalog/versions/{version_id}"): R_VER,
    ("GET", "/api/catalog/versions/{version_id}/changes"): R_VER,
    ("GET", "/api/catalog/versions/{version_id}/review-aids"): R_VER,
    ("GET", "/api/catalog/versions/{version_id}/history"): R_VER,
    ("GET", "/api/catalog/versions/{version_id}/export"): R_VER,
    ("POST", "/api/catalog/versions/{version_id}/entries"): R_VER,
    ("PUT", "/api/catalog/versions/{version_id}/entries/{entry_code:path}"): R_VER,
    ("POST", "/api/catalog/versions/{version_id}/entries/{entry_code:path}/withdraw"): R_VER,
    ("POST", "/api/catalog/versions/{version_id}/entries/{entry_code:path}/restore"): R_VER,
    ("DELETE", "/api/catalog/versions/{version_id}/entries/{entry_code:path}"): R_VER,
    ("POST", "/api/catalog/versions/{version_id}/submit"): R_VER,
    ("POST", "/api/catalog/versions/{version_id}/discard"): R_VER,
    ("POST", "/api/catalog/versions/{version_id}/review"): R_VER,
    ("POST", "/api/catalog/versions/{version_id}/import"): R_VER,
    ("GET", "/catalog/versions/{version_id}"): R_VER, ("GET", "/catalog/versions/{version_id}/history"): R_VER,
    ("POST", "/catalog/versions/{version_id}/submit"): R_VER,
    ("POST", "/catalog/versions/{version_id}/discard"): R_VER,
    ("POST", "/catalog/versions/{version_id}/review"): R_VER,
    ("POST", "/catalog/versions/{version_id}/import"): R_VER,
    ("POST", "/catalog/versions/{version_id}/entries/{entry_code:path}/withdraw"): R_VER,
    ("POST", "/catalog/versions/{version_id}/entries/{entry_code:path}/restore"): R_VER,
    ("POST", "/catalog/versions/{version_id}/entries/{entry_code:path}/remove"): R_VER,
    ("GET", "/catalog/versions/{version_id}/entries/new"): R_VER,
    ("GET", "/catalog/versions/{version_id}/entries/{entry_code:path}/edit"): R_VER,
    ("POST", "/catalog/versions/{version_id}/entries"): R_VER,
    ("GET", "/catalog/versions/{version_id}/changes"): R_VER,
    # Art. 9 update duties: triggers recorded by an authority; each lists what it may see.
    ("POST", "/api/catalog/update-triggers"): AUTHORITIES, ("GET", "/api/catalog/update-duties"): EVERYONE,
    ("GET", "/catalog/updates"): EVERYONE, ("POST", "/catalog/updates"): AUTHORITIES,
    # Sharing (Art. 16): lists are one's own department's.
    ("POST", "/api/share-requests"): CLERKS, ("GET", "/api/share-requests"): EVERYONE,
    ("GET", "/api/share-requests/{share_request_id}"): R_SR,
    ("GET", "/api/share-requests/{share_request_id}/history"): R_SR,
    ("GET", "/share-requests/{share_request_id}/history"): R_SR,
    ("POST", "/api/share-requests/{share_request_id}/withdraw"): R_SR,
    ("GET", "/share-requests"): EVERYONE, ("GET", "/share-requests/new"): EVERYONE,
    ("POST", "/share-requests"): CLERKS, ("GET", "/share-requests/{share_request_id}"): R_SR,
    ("POST", "/share-requests/{share_request_id}/withdraw"): R_SR,
    # Tasks and instances.
    ("GET", "/api/tasks"): EVERYONE, ("GET", "/tasks"): EVERYONE,
    ("GET", "/api/tasks/{task_id}"): R_TASK, ("GET", "/tasks/{task_id}"): R_TASK,
    ("GET", "/tasks/{task_id}/history"): R_TASK,
    ("GET", "/tasks/{task_id}/complete"): R_TASK,  # a reload of a refused form: back to the task page
    **{(m, f"{p}/{{task_id}}/{a}"): R_TASK for m in ("POST",) for p in ("/api/tasks", "/tasks")
       for a in ("claim", "unclaim", "complete", "pause", "resume", "reassign")},
    ("GET", "/api/processes"): EVERYONE, ("POST", "/api/processes"): DESIGNERS,
    ("POST", "/api/processes/{process_key}/instances"): DESIGNERS,
    ("GET", "/api/instances/{instance_id}"): R_INST, ("GET", "/api/instances/{instance_id}/history"): R_INST,
    ("GET", "/api/processes/{process_key}/versions/{version}/bpmn"): DESIGNERS,
    # The process designer (issue 10): designers and administrators; only administrators approve.
    ("GET", "/api/designer/vocabulary"): DESIGNERS, ("GET", "/api/designer/processes"): DESIGNERS,
    ("GET", "/api/designer/processes/{process_key}/diff"): DESIGNERS,
    ("POST", "/api/designer/processes/{process_key}/versions/{version}/redeploy"): DESIGNERS,
    ("POST", "/api/designer/drafts"): DESIGNERS, ("GET", "/api/designer/drafts/{draft_id}"): DESIGNERS,
    ("PUT", "/api/designer/drafts/{draft_id}"): DESIGNERS, ("DELETE", "/api/designer/drafts/{draft_id}"): DESIGNERS,
    ("GET", "/api/designer/drafts/{draft_id}/download"): DESIGNERS,
    ("POST", "/api/designer/drafts/{draft_id}/submit"): DESIGNERS, ("POST", "/api/designer/validate"): DESIGNERS,
    ("GET", "/api/designer/submissions"): DESIGNERS, ("GET", "/api/designer/submissions/{submission_id}"): DESIGNERS,
    ("POST", "/api/designer/submissions/{submission_id}/approve"): ADMIN,
    ("POST", "/api/designer/submissions/{submission_id}/return"): ADMIN,
    # Trial runs and scenario tests: designers and admins (a real task or instance answers 404 there).
    ("GET", "/api/trials"): DESIGNERS, ("POST", "/api/trials/tasks/{task_id}/complete"): DESIGNERS,
    ("POST", "/api/trials/{instance_id}/cancel"): DESIGNERS, ("POST", "/api/designer/scenarios/run"): DESIGNERS,
    ("GET", "/designer/trials"): DESIGNERS, ("POST", "/designer/trials"): DESIGNERS,
    ("GET", "/designer/trials/{instance_id}"): DESIGNERS,
    ("POST", "/designer/trials/{instance_id}/tasks/{task_id}/complete"): DESIGNERS,
    ("POST", "/designer/trials/{instance_id}/cancel"): DESIGNERS,
    # A trial's external task, acted as the outside system (issue 16): designers and admins, like its user tasks.
    **{(method, f"{prefix}/{{instance_id}}/external-tasks/{{external_task_id}}/{action}"): DESIGNERS
       for method in ("POST",) for prefix in ("/api/trials", "/designer/trials")
       for action in ("complete", "bpmn-error")},
    ("GET", "/api/instances/{instance_id}/diagram"): R_INST,
    # Supervision (the government's 督查室).
    ("GET", "/api/supervision/items"): SUPERVISORS, ("GET", "/supervision"): SUPERVISORS,
    ("POST", "/api/supervision/items/{item_id}/urge"): R_ITEM,
    ("POST", "/api/supervision/items/{item_id}/close"): R_ITEM,
    ("POST", "/api/supervision/items/{item_id}/decide"): R_ITEM,
    ("POST", "/supervision/{item_id}/urge"): R_ITEM, ("POST", "/supervision/{item_id}/close"): R_ITEM,
    ("GET", "/api/supervision/stats"): SUPERVISORS, ("GET", "/api/supervision/stats.csv"): SUPERVISORS,
    ("GET", "/supervision/stats"): SUPERVISORS,
    # Notifications are their addressee's.
    ("GET", "/api/notifications"): EVERYONE, ("GET", "/api/notifications/unread-count"): EVERYONE,
    ("POST", "/api/notifications/read-all"): EVERYONE, ("POST", "/api/notifications/{notification_id}/read"): R_NOTE,
    ("GET", "/notifications"): EVERYONE, ("POST", "/notifications/read-all"): EVERYONE,
    ("POST", "/notifications/{notification_id}/read"): R_NOTE,
    # Attachments: the case's parties and its authority.
    ("POST", "/api/attachments"): R_FILE, ("GET", "/api/attachments"): R_FILE,
    ("GET", "/api/attachments/{attachment_id}"): R_FILE,
    ("POST", "/attachments/disputes/{dispute_id}"): R_DISP,
    ("POST", "/attachments/rectification-notices/{notice_id}"): R_NOTICE,
    # Open lists (Art. 20–21): drafts are the department's and its overseers'; published ones are public.
    ("POST", "/api/open-lists"): CLERKS, ("GET", "/api/open-lists"): EVERYONE,
    ("GET", "/api/open-lists/{open_list_id}"): R_LIST, ("GET", "/api/open-lists/{open_list_id}/history"): R_LIST,
    ("GET", "/open-lists/{open_list_id}/history"): R_LIST,
    ("GET", "/api/open-lists/{open_list_id}/reviews"): R_LIST, ("GET", "/open-lists/{open_list_id}/reviews"): R_LIST,
    ("POST", "/api/open-lists/{open_list_id}/discard"): R_LIST,
    ("POST", "/api/open-lists/{open_list_id}/items"): R_LIST,
    ("PUT", "/api/open-lists/{open_list_id}/items/{entry_code:path}"): R_LIST,
    ("DELETE", "/api/open-lists/{open_list_id}/items/{entry_code:path}"): R_LIST,
    ("POST", "/api/open-lists/{open_list_id}/submit"): R_LIST,
    ("POST", "/api/open-lists/{open_list_id}/review"): R_LIST,
    ("GET", "/api/open-data/lists"): PUBLIC, ("GET", "/api/open-data/lists/{open_list_id}"): NOBODY,
    ("GET", "/api/open-data/restricted"): PUBLIC,
    ("GET", "/open-data"): PUBLIC, ("GET", "/open-data/lists/{open_list_id}"): NOBODY,
    ("GET", "/open-data/restricted"): PUBLIC,
    ("GET", "/open-lists"): EVERYONE, ("POST", "/open-lists"): CLERKS,
    ("GET", "/open-lists/{open_list_id}"): R_LIST,
    **{("POST", f"/open-lists/{{open_list_id}}/{a}"): R_LIST
       for a in ("submit", "review", "discard", "items", "items/update", "items/delete")},
    ("GET", "/open-lists/{open_list_id}/items/new"): R_LIST, ("GET", "/open-lists/{open_list_id}/items/edit"): R_LIST,
    # Rectification (Art. 29–30): notices issued by an authority to a department.
    ("GET", "/api/rectification/article-29-items"): EVERYONE,
    ("GET", "/api/rectification/authorities"): AUTHORITIES,
    ("PUT", "/api/rectification/authorities/{department_code}"): ADMIN,
    ("GET", "/rectification/authorities"): AUTHORITIES, ("POST", "/rectification/authorities/{department_code}"): ADMIN,
    ("POST", "/api/rectification-notices"): AUTHORITIES, ("GET", "/api/rectification-notices"): EVERYONE,
    ("GET", "/rectification-notices"): EVERYONE, ("GET", "/rectification-notices/new"): AUTHORITIES,
    ("POST", "/rectification-notices"): AUTHORITIES,
    ("GET", "/api/rectification-notices/{notice_id}"): R_NOTICE,
    ("GET", "/api/rectification-notices/{notice_id}/history"): R_NOTICE,
    ("GET", "/rectification-notices/{notice_id}/history"): R_NOTICE,
    ("GET", "/api/rectification-notices/{notice_id}/submissions"): R_NOTICE,
    ("GET", "/rectification-notices/{notice_id}/submissions"): R_NOTICE,
    ("GET", "/api/rectification-notices/{notice_id}/supervision"): R_NOTICE,
    ("GET", "/rectification-notices/{notice_id}/supervision"): R_NOTICE,
    ("GET", "/rectification-notices/{notice_id}"): R_NOTICE,
    ("GET", "/rectification-notices/{notice_id}/print"): R_NOTICE,
    **{("POST", f"{p}/{{notice_id}}/{a}"): R_NOTICE for p in ("/api/rectification-notices", "/rectification-notices")
       for a in ("report", "exemption-claim", "verification", "exemption-decision", "withdraw")},
    ("POST", "/rectification-notices/{notice_id}/supervision/{item_id}/decide"): R_NOTICE,
    # New business systems (Art. 7): registered by a department's clerk; the case is the department's and its
    # level's overseers'.
    ("GET", "/api/systems/catalog-entries"): EVERYONE,
    ("POST", "/api/systems"): CLERKS, ("GET", "/api/systems"): EVERYONE,
    ("GET", "/systems"): EVERYONE, ("GET", "/systems/new"): CLERKS, ("POST", "/systems"): CLERKS,
    ("GET", "/api/systems/{system_id}"): R_SYS, ("GET", "/api/systems/{system_id}/history"): R_SYS,
    ("GET", "/systems/{system_id}"): R_SYS, ("GET", "/systems/{system_id}/history"): R_SYS,
    **{("POST", f"{p}/{{system_id}}/{a}"): R_SYS for p in ("/api/systems", "/systems")
       for a in ("approval", "withdraw")},
    # Disputes (Art. 17).
    ("POST", "/api/disputes"): CLERKS, ("GET", "/api/disputes"): EVERYONE,
    ("GET", "/api/disputes/{dispute_id}"): R_DISP,
    ("GET", "/api/disputes/{dispute_id}/history"): R_DISP, ("GET", "/api/disputes/{dispute_id}/records"): R_DISP,
    ("GET", "/disputes/{dispute_id}/history"): R_DISP, ("GET", "/disputes/{dispute_id}/records"): R_DISP,
    ("GET", "/api/disputes/{dispute_id}/attachments"): R_DISP, ("GET", "/disputes/{dispute_id}/attachments"): R_DISP,
    ("GET", "/disputes"): EVERYONE, ("GET", "/disputes/new"): R_SR, ("POST", "/disputes"): CLERKS,
    ("GET", "/disputes/{dispute_id}"): R_DISP, ("GET", "/disputes/{dispute_id}/decision"): R_DISP,
    **{("POST", f"{p}/{{dispute_id}}/{a}"): R_DISP for p in ("/api/disputes", "/disputes")
       for a in ("provider-position", "requester-reply", "statement-requests", "statements", "meetings",
                 "decision", "compliance")},
    # The authority console: data authorities' reviewers (their area) and administrators.
    ("GET", "/api/authority/cases"): AUTHORITIES, ("GET", "/authority"): AUTHORITIES,
    # Migration of running instances to a newer version (issue 10): designers and administrators.
    ("GET", "/api/designer/processes/{process_key}/migrations"): DESIGNERS,
    ("POST", "/api/designer/processes/{process_key}/migrations"): DESIGNERS,
    ("GET", "/designer/processes/{process_key}/migrate"): DESIGNERS,
    ("POST", "/designer/processes/{process_key}/migrate"): DESIGNERS,
    # Process design pages (流程设计): designers and administrators; deciding a submission is an administrator's.
    ("GET", "/designer"): DESIGNERS, ("POST", "/designer/drafts"): DESIGNERS,
    ("GET", "/designer/drafts/{draft_id}"): DESIGNERS, ("POST", "/designer/drafts/{draft_id}/delete"): DESIGNERS,
    ("GET", "/designer/processes/{process_key}/versions/{version}"): DESIGNERS,
    ("POST", "/designer/processes/{process_key}/versions/{version}/redeploy"): DESIGNERS,
    ("GET", "/designer/submissions"): DESIGNERS, ("GET", "/designer/submissions/{submission_id}"): DESIGNERS,
    ("POST", "/designer/submissions/{submission_id}/approve"): ADMIN,
    ("POST", "/designer/submissions/{submission_id}/return"): ADMIN,
    # Messages (issue 11): the waiting instance's department and admins may deliver; no fixture instance
    # waits for a message, so every caller is sent the body and none may get a 2xx. Who may deliver to a
    # waiting instance is tested in tests/api/test_messages_api.py.
    ("POST", "/api/messages"): NOBODY,
    # The approval desk (issue 11): a case's copies, comments, files and 审批单 by its readers (a copied
    # person becomes one); one's own copies, phrases, filters and the batch by anyone logged in.
    ("POST", "/api/instances/{instance_id}/copies"): R_INST, ("GET", "/api/instances/{instance_id}/sheet"): R_INST,
    ("GET", "/instances/{instance_id}/print"): R_INST,
    **{(m, f"{p}/{{task_id}}/{a}"): R_TASK for m, p, a in (
        ("POST", "/api/tasks", "urge"), ("GET", "/api/tasks", "comments"), ("POST", "/api/tasks", "comments"),
        ("GET", "/api/tasks", "attachments"), ("POST", "/api/tasks", "attachments"),
        ("POST", "/tasks", "urge"), ("POST", "/tasks", "copy"), ("POST", "/tasks", "comments"),
        ("POST", "/tasks", "attachments"))},
    ("GET", "/api/me/copies"): EVERYONE, ("POST", "/api/me/copies/{copy_id}/read"): EVERYONE,
    ("POST", "/copies/{copy_id}/read"): EVERYONE,
    ("GET", "/api/me/phrases"): EVERYONE, ("POST", "/api/me/phrases"): EVERYONE,
    ("PUT", "/api/me/phrases/{phrase_id}"): EVERYONE, ("DELETE", "/api/me/phrases/{phrase_id}"): EVERYONE,
    ("GET", "/me/phrases"): EVERYONE, ("POST", "/me/phrases"): EVERYONE,
    ("POST", "/me/phrases/{phrase_id}/delete"): EVERYONE,
    ("GET", "/api/me/filters"): EVERYONE, ("POST", "/api/me/filters"): EVERYONE,
    ("DELETE", "/api/me/filters/{filter_id}"): EVERYONE, ("POST", "/me/filters"): EVERYONE,
    ("POST", "/me/filters/{filter_id}/delete"): EVERYONE,
    ("POST", "/api/tasks/batch-complete"): EVERYONE, ("POST", "/tasks/batch"): EVERYONE,
    ("GET", "/api/me/inbox-counts"): EVERYONE, ("GET", "/api/people"): EVERYONE,
    # The yearly evaluation (Art. 18): everyone reads their own level's draft (the default scope); the level's
    # authority publishes; published reports are public (公布评估报告和改进意见).
    ("GET", "/api/reports/yearly"): EVERYONE, ("GET", "/api/reports/yearly/export"): EVERYONE,
    ("POST", "/api/reports/published"): AUTHORITIES, ("GET", "/api/reports/published"): PUBLIC,
    ("GET", "/api/reports/published/{report_id}"): PUBLIC,
    ("GET", "/api/reports/published/{report_id}/export"): PUBLIC,
    ("GET", "/reports"): EVERYONE, ("GET", "/reports/print"): EVERYONE, ("POST", "/reports/publish"): AUTHORITIES,
    ("GET", "/reports/published"): PUBLIC, ("GET", "/reports/published/{report_id}"): PUBLIC,
    ("GET", "/reports/published/{report_id}/print"): PUBLIC,
    # The usage log (Art. 12, issue 14): only a system's own credentials report (HTTP Basic, never a person's
    # token); system clients are an administrator's; usage reads follow the grant's and the department's
    # lines; a flag's notice is issued by the authority of the departments' level (the rectification rule).
    ("POST", "/api/usage/events"): NOBODY,
    ("GET", "/api/usage/systems"): ADMIN, ("POST", "/api/usage/systems"): ADMIN,
    ("POST", "/api/usage/systems/{client_id}/rotate"): ADMIN,
    ("POST", "/api/usage/systems/{client_id}/deactivate"): ADMIN,
    ("PUT", "/api/usage/systems/{client_id}/topics"): ADMIN,
    ("GET", "/usage/systems"): ADMIN, ("POST", "/usage/systems"): ADMIN,
    ("POST", "/usage/systems/{client_id}/rotate"): ADMIN, ("POST", "/usage/systems/{client_id}/deactivate"): ADMIN,
    ("POST", "/usage/systems/{client_id}/topics"): ADMIN,
    ("GET", "/api/usage/grants/{grant_id}"): Reads("grant"), ("GET", "/api/usage/grants/{grant_id}/events"): Reads("grant"),
    ("GET", "/api/usage/grants/{grant_id}/export"): Reads("grant"), ("GET", "/usage/grants/{grant_id}"): Reads("grant"),
    ("GET", "/api/usage/departments/{department_id}"): Reads("usage_department"),
    ("GET", "/api/usage/departments/{department_id}/events"): Reads("usage_department"),
    ("GET", "/api/usage/departments/{department_id}/export"): Reads("usage_department"),
    ("GET", "/usage/departments/{department_id}"): Reads("usage_department"),
    ("GET", "/usage"): EVERYONE,
    ("POST", "/api/usage/flags/{flag_id}/rectification-notice"): frozenset({"data_reviewer"}),
    ("POST", "/usage/flags/{flag_id}/rectification"): frozenset({"data_reviewer"}),
    # Electronic signatures (Art. 26, issue 15): departments' signing keys are an administrator's; anyone, not
    # logged in, verifies a document by its code (it shows only what the holder of the paper reads on it);
    # the printed share reply is the request's readers'.
    ("GET", "/api/admin/signing-keys"): ADMIN, ("POST", "/api/admin/signing-keys"): ADMIN,
    ("POST", "/api/admin/signing-keys/{department_code}/rotate"): ADMIN,
    ("GET", "/admin/signing-keys"): ADMIN, ("POST", "/admin/signing-keys"): ADMIN,
    ("POST", "/admin/signing-keys/{department_code}/rotate"): ADMIN,
    ("GET", "/api/verify"): PUBLIC, ("GET", "/verify"): PUBLIC, ("POST", "/verify"): PUBLIC,
    ("GET", "/share-requests/{share_request_id}/reply"): R_SR,
    # External tasks (issue 16): only a system's own credentials work them (HTTP Basic with the scope
    # external_task:work, never a person's token); incidents are an administrator's.
    **{("POST", f"/api/external-tasks/{{external_task_id}}/{action}"): NOBODY
       for action in ("complete", "failure", "bpmn-error", "extend-lock")},
    ("POST", "/api/external-tasks/fetch-and-lock"): NOBODY,
    ("GET", "/api/admin/incidents"): ADMIN, ("POST", "/api/admin/incidents/{incident_id}/retry"): ADMIN,
    ("GET", "/admin/incidents"): ADMIN, ("POST", "/admin/incidents/{incident_id}/retry"): ADMIN,
}
# Task actions (issue 11): 退回, 撤回, 补正, 加签, 委派 act on a task like claim; a side task is its asker's and
# its assignee's (only the assignee answers); nobody of the fixture deputises, so 代理 work is nobody's.
EXPECT.update({
    **{(m, f"{p}/{{task_id}}/{a}"): R_TASK for m in ("POST",) for p in ("/api/tasks", "/tasks")
       for a in ("return", "withdraw", "supplement", "addsign", "delegate")},
    ("GET", "/api/tasks/{task_id}/returnable-steps"): R_TASK,
    ("POST", "/api/tasks/{task_id}/complete-as-deputy"): NOBODY, ("POST", "/tasks/{task_id}/complete-as-deputy"): NOBODY,
    ("GET", "/api/side-tasks"): EVERYONE, ("GET", "/api/side-tasks/{side_task_id}"): Reads("side_task"),
    ("GET", "/side-tasks/{side_task_id}"): Reads("side_task"),
    ("POST", "/api/side-tasks/{side_task_id}/answer"): frozenset({"gat_head"}),
    ("POST", "/side-tasks/{side_task_id}/answer"): frozenset({"gat_head"}),
    ("GET", "/api/me/deputy"): EVERYONE, ("PUT", "/api/me/deputy"): EVERYONE, ("DELETE", "/api/me/deputy"): EVERYONE,
    ("GET", "/api/me/deputy/tasks"): EVERYONE,
    ("GET", "/settings/deputy"): EVERYONE, ("POST", "/settings/deputy"): EVERYONE,
    ("POST", "/settings/deputy/clear"): EVERYONE,
})

# Query strings a GET needs to reach its check (placeholders filled from the fixture set).
QUERY: dict[str, dict[str, str]] = {
    "/api/catalog/versions/compare": {"from_version_id": "{version}", "to_version_id": "{version}"},
    "/catalog/compare": {"from_version_id": "{version}", "to_version_id": "{version}"},
    "/api/attachments": {"owner_type": "dispute", "owner_id": "{dispute}"},
    "/api/calendar/deadline": {"start": "2026-11-02", "working_days": "5"},
    "/api/designer/processes/{process_key}/diff": {"from_version": "1", "to_version": "1"},
    "/share-requests/new": {"entry_code": "410000-gat-0001"},
    "/disputes/new": {"share_request_id": "{share_request}"},
    "/open-lists/{open_list_id}/items/edit": {"entry_code": "{list_entry}"},
    "/catalog/versions/{version_id}/entries/{entry_code:path}/edit": {},
}
# Where a route's object is named by a query or a form field rather than the path.
QUERY_KIND = {"/api/catalog/versions/compare": "version", "/catalog/compare": "version",
              "/api/attachments": "attachment", "/disputes/new": "share_request"}

# A valid one-task process for the designer's routes.
DESIGNER_XML = (
    '<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://govflow.example/bpmn">'
    '<bpmn:process id="matrix_trial" isExecutable="true"><bpmn:startEvent id="s" />'
    '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t" />'
    '<bpmn:userTask id="t" camunda:candidateGroups="clerk" /><bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e" />'
    '<bpmn:endEvent id="e" /></bpmn:process></bpmn:definitions>')

# Plausible bodies, so a refusal is the permission check and not a missing field.
JSON: dict[tuple[str, str], Any] = {
    ("POST", "/api/share-requests/{share_request_id}/withdraw"): {"reason": "越权撤销测试"},
    ("POST", "/api/tasks/{task_id}/complete"): {"data": {"decision": "refuse", "reason": "越权办理测试",
                                                          "legal_basis": "无"}},
    ("POST", "/api/tasks/{task_id}/reassign"): {"username": "gat_reviewer"},
    ("POST", "/api/tasks/{task_id}/pause"): {"reason": "越权暂停测试"},
    ("POST", "/api/tasks/{task_id}/return"): {"step": "submitted", "reason": "越权退回测试"},
    ("POST", "/api/tasks/{task_id}/supplement"): {"reason": "越权补正测试"},
    ("POST", "/api/tasks/{task_id}/addsign"): {"user_id": 1, "reason": "越权加签测试"},
    ("POST", "/api/tasks/{task_id}/delegate"): {"user_id": 1, "reason": "越权委派测试"},
    ("POST", "/api/tasks/{task_id}/complete-as-deputy"): {"data": {"decision": "approve", "terms": "越权"}},
    ("POST", "/api/side-tasks/{side_task_id}/answer"): {"reply": "越权答复测试"},
    ("PUT", "/api/me/deputy"): {"deputy_id": 1, "starts_on": "2026-11-02", "ends_on": "2026-11-06"},
    ("POST", "/api/instances/{instance_id}/copies"): {"user_ids": [1], "note": "越权抄送测试"},
    ("POST", "/api/tasks/{task_id}/comments"): {"body": "越权评论测试"},
    ("POST", "/api/open-lists/{open_list_id}/review"): {"decision": "approve"},
    ("POST", "/api/open-lists/{open_list_id}/submit"): {},
    ("POST", "/api/rectification-notices/{notice_id}/verification"): {"decision": "accept"},
    ("POST", "/api/rectification-notices/{notice_id}/withdraw"): {"reason": "越权撤回测试"},
    ("POST", "/api/rectification-notices/{notice_id}/report"): {"report": "越权报告测试，不应被接受。",
                                                                  "attachment_ids": []},
    ("POST", "/api/supervision/items/{item_id}/decide"): {"decision": "order_to_correct"},
    ("POST", "/api/designer/processes/{process_key}/migrations"): {"to_version": 1, "all": True},
    ("POST", "/api/supervision/items/{item_id}/urge"): {"note": "越权督促测试"},
    ("POST", "/api/supervision/items/{item_id}/close"): {"note": "越权办结测试"},
    ("POST", "/api/disputes/{dispute_id}/decision"): {"decision": "share", "reasons": "越权决定测试"},
    ("POST", "/api/disputes/{dispute_id}/provider-position"): {"stance": "not_share", "position": "越权",
                                                               "legal_basis": "无"},
    ("POST", "/api/catalog/versions/{version_id}/submit"): {},
    ("POST", "/api/catalog/versions/{version_id}/review"): {"decision": "approve"},
    ("POST", "/api/rectification-notices"): {"department_code": "410000-rst", "article_item": 1,
                                             "facts": "越权下发测试事实。", "requirements": "越权下发测试要求。",
                                             "deadline_working_days": 10},
    ("PUT", "/api/rectification/authorities/{department_code}"): {"number_prefix": "越权"},
    ("POST", "/api/systems"): {"name": "越权登记系统", "purpose": "越权登记测试", "data_items": [{"name": "姓名"}],
                               "contact_name": "越权", "contact_phone": "0371-65550000"},
    ("POST", "/api/systems/{system_id}/approval"): {"approval_number": "越权〔2026〕1号", "approval_date": "2026-11-02",
                                                    "approving_body": "越权审批机关"},
    ("POST", "/api/systems/{system_id}/withdraw"): {"reason": "越权撤回测试"},
    ("POST", "/api/processes/{process_key}/instances"): {"variables": {}},
    ("POST", "/api/trials/tasks/{task_id}/complete"): {"role": "reviewer",
                                                       "data": {"decision": "approve", "terms": "越权办理测试"}},
    ("POST", "/api/trials/{instance_id}/external-tasks/{external_task_id}/complete"): {"variables": {}},
    ("POST", "/api/trials/{instance_id}/external-tasks/{external_task_id}/bpmn-error"): {
        "error_code": "EXCHANGE_REJECTED"},
    ("POST", "/api/designer/scenarios/run"): {"xml": (ROOT / "bpmn" / "sharing_share_request.bpmn").read_text(
        encoding="utf-8")},
    ("PUT", "/api/admin/clock"): {"now": "2027-01-04T09:00:00+08:00"},
    ("POST", "/api/designer/drafts"): {"title": "越权草稿"},
    ("PUT", "/api/designer/drafts/{draft_id}"): {"xml": DESIGNER_XML, "lock_version": 1},
    ("POST", "/api/designer/validate"): {"xml": DESIGNER_XML},
    ("POST", "/api/designer/submissions/{submission_id}/return"): {"comment": "越权退回测试"},
    ("POST", "/api/messages"): {"message": "越权投递测试", "business_ref": "越权投递测试", "variables": {}},
    ("POST", "/api/reports/published"): {"year": 2024, "opinions": "越权公布测试"},
    ("POST", "/api/admin/signing-keys"): {"department_code": "410000-data"},
    ("POST", "/api/external-tasks/fetch-and-lock"): {
        "worker_id": "matrix", "max_tasks": 10, "topics": [{"name": "exchange.grant", "lock_duration_ms": 60000}]},
    **{("POST", f"/api/external-tasks/{{external_task_id}}/{action}"): body for action, body in (
        ("complete", {"worker_id": "matrix", "variables": {}}),
        ("failure", {"worker_id": "matrix", "error_message": "越权失败测试", "retries": 0}),
        ("bpmn-error", {"worker_id": "matrix", "error_code": "EXCHANGE_REJECTED"}),
        ("extend-lock", {"worker_id": "matrix", "new_duration_ms": 60000}))},
    ("POST", "/api/admin/incidents/{incident_id}/retry"): {"retries": 1},
    ("PUT", "/api/usage/systems/{client_id}/topics"): {"topics": ["exchange.*"]},
}
FORM: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/usage/systems/{client_id}/topics"): {"topics": "exchange.*"},
    ("POST", "/designer/drafts"): {"mode": "new", "title": "越权新建流程"},
    ("POST", "/designer/submissions/{submission_id}/return"): {"comment": "越权退回测试"},
    ("POST", "/share-requests/{share_request_id}/withdraw"): {"reason": "越权撤销测试"},
    ("POST", "/tasks/{task_id}/comments"): {"body": "越权评论测试"},
    ("POST", "/tasks/{task_id}/copy"): {"user_ids": "1", "note": "越权抄送测试"},
    ("POST", "/open-lists/{open_list_id}/review"): {"decision": "approve"},
    ("POST", "/designer/processes/{process_key}/migrate"): {"to_version": "1", "action": "all"},
    ("POST", "/rectification-notices/{notice_id}/verification"): {"decision": "accept"},
    ("POST", "/disputes/{dispute_id}/decision"): {"decision": "share", "reasons": "越权决定测试"},
    ("POST", "/systems"): {"name": "越权登记系统", "purpose": "越权登记测试", "item_name": "姓名",
                           "contact_name": "越权", "contact_phone": "0371-65550000"},
    ("POST", "/systems/{system_id}/approval"): {"approval_number": "越权〔2026〕1号", "approval_date": "2026-11-02",
                                                "approving_body": "越权审批机关"},
    ("POST", "/systems/{system_id}/withdraw"): {"reason": "越权撤回测试"},
    ("POST", "/reports/publish"): {"year": "2024", "opinions": "越权公布测试"},
    ("POST", "/admin/signing-keys"): {"department_code": "410000-data"},
    ("POST", "/admin/incidents/{incident_id}/retry"): {"retries": "1"},
    ("POST", "/designer/trials/{instance_id}/external-tasks/{external_task_id}/complete"): {"variables": ""},
    ("POST", "/designer/trials/{instance_id}/external-tasks/{external_task_id}/bpmn-error"): {
        "error_code": "EXCHANGE_REJECTED"},
}
UPLOAD_ROUTES = {("POST", "/api/attachments"), ("POST", "/api/tasks/{task_id}/attachments")}
# The entry a path's entry_code names: one in the set's draft (郑州市人社局 has no published entry to list).
ENTRY = {("version", "P"): "410000-gat-0001", ("version", "C"): "410100-rsj-0100",
         ("open_list", "P"): "410000-gat-0001"}


def iter_routes(app) -> Iterator[tuple[str, str, bool]]:  # type: ignore[no-untyped-def]
    """Yield (method, path, in the OpenAPI) for every route of the app, flattening included routers."""
    for route in app.routes:
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        for r in contexts:
            methods = getattr(r, "methods", None)
            if not methods:
                continue  # a mount (static files)
            for method in sorted(set(methods) - {"HEAD"}):
                yield method, r.path, bool(getattr(r, "include_in_schema", False))


# ---- the world: one database and one set of objects per module -------------------------------------------

@dataclass
class World:
    app: Any
    api: dict[str, TestClient]
    pages: dict[str, TestClient]
    csrf: dict[str, str]
    ids: dict[tuple[str, str], int] = field(default_factory=dict)


def _csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _bearer(app, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app, follow_redirects=False)
    r = c.post("/api/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return c


def _page_session(app, username: str) -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    c = TestClient(app, follow_redirects=False)
    token = _csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token, "next": "/"})
    assert r.status_code == 303, r.text
    return c, _csrf_of(c.get("/notifications").text)


def _ok(r, expect: int = 200) -> Any:  # type: ignore[no-untyped-def]
    assert r.status_code == expect, r.text
    return r.json()


def _build(world: World) -> None:
    """Build the P and C objects with the real flows, as their users would."""
    from tests.api.helpers import CONDITIONAL, review_task, share_request_body
    from tests.catalog.helpers import entry_body
    from tests.disputes.helpers import open_dispute
    from tests.open_data.helpers import conditional_item
    from tests.rectification.helpers import notice_body

    a = world.api
    ids = world.ids
    # Share requests under review, each with its open review task.
    for key, clerk, reviewer, body in (
            ("P", "rst_clerk", "gat_reviewer", share_request_body(CONDITIONAL)),
            ("C", "zz_clerk", "zz_reviewer", {**share_request_body(CONDITIONAL), "entry_code": "410100-gaj-0001",
                                             "items": _items(a["zz_clerk"], "410100-gaj-0001")})):
        created = _ok(a[clerk].post("/api/share-requests", json=body), 201)
        task = review_task(a[reviewer], created["instance_id"])
        ids[("share_request", key)], ids[("instance", key)], ids[("task", key)] = (
            created["id"], created["instance_id"], task["id"])
        # A second request of the same pair, refused, is the subject of a dispute.
        refused = _ok(a[clerk].post("/api/share-requests", json=body), 201)
        rtask = review_task(a[reviewer], refused["instance_id"])
        _ok(a[reviewer].post(f"/api/tasks/{rtask['id']}/complete", json={"data": {
            "decision": "refuse", "reason": "申请用途超出共享条件", "legal_basis": "《户口登记条例》第三条"}}))
        dispute = open_dispute(a[clerk], refused["id"])
        ids[("dispute", key)] = dispute["id"]
        up = a[reviewer].post("/api/attachments", data={"owner_type": "dispute", "owner_id": str(dispute["id"])},
                              files={"file": ("说明.pdf", b"%PDF-1.4 x", "application/pdf")})
        ids[("attachment", key)] = _ok(up, 201)["id"]
    # Rectification notices.
    ids[("notice", "P")] = _ok(a["data_reviewer"].post("/api/rectification-notices", json=notice_body()), 201)["id"]
    ids[("notice", "C")] = _ok(a["zz_data_reviewer"].post(
        "/api/rectification-notices", json=notice_body(department_code="410100-rsj")), 201)["id"]
    # Drafts: a catalog version and an open list of 省公安厅 and 郑州市人社局.
    ids[("version", "P")] = _ok(a["gat_clerk"].post("/api/catalog/versions"), 201)["id"]
    ids[("version", "C")] = _ok(a["zz_clerk"].post("/api/catalog/versions"), 201)["id"]
    _ok(a["zz_clerk"].post(f"/api/catalog/versions/{ids[('version', 'C')]}/entries",
                           json=entry_body(code=ENTRY[("version", "C")])), 201)
    ids[("open_list", "P")] = _ok(a["gat_clerk"].post("/api/open-lists", json={"year": 2027}), 201)["id"]
    _ok(a["gat_clerk"].post(f"/api/open-lists/{ids[('open_list', 'P')]}/items", json=conditional_item()), 201)
    ids[("open_list", "C")] = _ok(a["zz_clerk"].post("/api/open-lists", json={"year": 2027}), 201)["id"]
    # New business systems (Art. 7) of 省公安厅 and 郑州市人社局, waiting for their 立项.
    from tests.systems.helpers import SYSTEM
    ids[("system", "P")] = _ok(a["gat_clerk"].post("/api/systems", json=SYSTEM), 201)["id"]
    ids[("system", "C")] = _ok(a["zz_clerk"].post("/api/systems", json={**SYSTEM, "data_items": [{"name": "姓名"}]}),
                               201)["id"]
    # A designer's trial instance.
    trial = a["designer"].post("/api/processes/catalog_catalog_review/instances",
                               json={"variables": {"authority_department": "410000-data"}})
    ids[("instance", "T")] = _ok(trial, 201)["id"]
    # A designer's draft, and another one submitted for approval.
    ids[("draft", "P")] = _ok(a["designer"].post("/api/designer/drafts", json={"xml": DESIGNER_XML}), 201)["id"]
    pending = _ok(a["designer"].post("/api/designer/drafts", json={"xml": DESIGNER_XML}), 201)["id"]
    ids[("submission", "P")] = _ok(a["designer"].post(f"/api/designer/drafts/{pending}/submit", json={}), 201)["id"]
    # The province's published evaluation of 2025 (Art. 18): public.
    ids[("report", "P")] = _ok(a["data_reviewer"].post("/api/reports/published", json={
        "year": 2025, "opinions": "各部门应按时答复共享申请。"}), 201)["id"]
    # A review task 委派 by its reviewer to the department's head: a side task.
    from app.org.models import User
    with world.app.state.runtime.db.session() as session:
        head_id = session.execute(select(User.id).where(User.username == "gat_head")).scalar_one()
    _build_usage(world)
    delegated = _ok(a["rst_clerk"].post("/api/share-requests", json=share_request_body(CONDITIONAL)), 201)
    dtask = review_task(a["gat_reviewer"], delegated["instance_id"])
    ids[("side_task", "P")] = _ok(a["gat_reviewer"].post(f"/api/tasks/{dtask['id']}/delegate", json={
        "user_id": head_id, "reason": "请代拟审核意见"}), 201)["id"]


def _build_usage(world: World) -> None:
    """A grant (省市场监管局 → 省人社厅), an exchange system, a flagged use of the grant, the departments' ids."""
    from app.org.models import Department
    from tests.api.helpers import UNCONDITIONAL, share_request_body
    from tests.usage.helpers import basic, event

    a, ids = world.api, world.ids
    filed = _ok(a["rst_clerk"].post("/api/share-requests", json=share_request_body(UNCONDITIONAL)), 201)
    ids[("grant", "P")] = _ok(a["rst_clerk"].get(f"/api/share-requests/{filed['id']}"))["grant"]["id"]
    system = _ok(_bearer(world.app, "demo_admin").post("/api/usage/systems", json={
        "code": "matrix-exchange", "name": "矩阵测试交换平台", "department_code": "410000-data"}), 201)
    ids[("client", "P")] = system["id"]
    machine = TestClient(world.app)  # an exchange system: its own credentials, no person's token
    _ok(machine.post("/api/usage/events", headers=basic(system["code"], system["secret"]),
                     json={"events": [event("m-1", ids[("grant", "P")], items=["法定代表人"])]}))
    machine.close()
    ids[("flag", "P")] = _ok(a["data_reviewer"].get(f"/api/usage/grants/{ids[('grant', 'P')]}"))["flags"][0]["id"]
    _build_external(world)
    with world.app.state.runtime.db.session() as session:
        for key, code in (("P", "410000-rst"), ("C", "410100-rsj")):
            ids[("usage_department", key)] = session.execute(
                select(Department.id).where(Department.code == code)).scalar_one()


def _build_external(world: World) -> None:
    """An external task of 省公安厅's instance whose worker's retries ran out: an open incident."""
    from app.external.models import ExternalTask, ExternalTaskStatus
    from tests.external.helpers import DIAGRAM
    from tests.usage.helpers import basic

    rt = world.app.state.runtime
    with rt.db.session() as session:
        rt.runner.deploy(session, DIAGRAM, filename="external_task.bpmn", actor="system")
        from app.org.models import Department
        dept = session.execute(select(Department.id).where(Department.code == "410000-gat")).scalar_one()
        instance = rt.runner.start(session, "test_external", variables={}, actor="system", subject="矩阵外部任务",
                                   business_ref="MATRIX-EXT", department_id=dept)
        session.commit()
        instance_id = instance.id
    system = _ok(_bearer(world.app, "demo_admin").post("/api/usage/systems", json={
        "code": "matrix-worker", "name": "矩阵测试任务执行器", "department_code": "410000-data",
        "scopes": ["external_task:work"], "topics": ["exchange.grant"]}), 201)
    machine = TestClient(world.app)
    auth = basic(system["code"], system["secret"])
    # Granted share requests wait at exchange.grant too: take this instance's task.
    fetched = _ok(machine.post("/api/external-tasks/fetch-and-lock", headers=auth, json={
        "worker_id": "w", "max_tasks": 100, "topics": [{"name": "exchange.grant", "lock_duration_ms": 600000}]}))
    [task] = [t for t in fetched if t["process_instance_id"] == instance_id]
    _ok(machine.post(f"/api/external-tasks/{task['id']}/failure", headers=auth,
                     json={"worker_id": "w", "error_message": "矩阵测试故障", "retries": 0}))
    machine.close()
    with rt.db.session() as session:
        row = session.execute(select(ExternalTask).where(ExternalTask.instance_id == instance_id)).scalar_one()
        assert row.status == ExternalTaskStatus.incident.value
        world.ids[("external_task", "P")] = int(row.id)


def _items(clerk: TestClient, code: str) -> list[str]:
    return [i["name"] for i in _ok(clerk.get(f"/api/catalog/entries/{code}"))["items"]][:2]


def _escalate(world: World, rt) -> None:  # type: ignore[no-untyped-def]
    """Let the province's notice pass its deadline so the 督查室 gets a supervision item."""
    from app.notifications.models import Notification
    from app.org.models import User
    from app.supervision.models import SupervisionItem

    clock.freeze(datetime(2026, 11, 18, 9, 0, tzinfo=SHANGHAI))
    admin = _bearer(world.app, "demo_admin")
    assert admin.post("/api/admin/jobs/escalate-overdue/run").status_code == 200
    with rt.db.session() as session:
        items = session.execute(select(SupervisionItem.id, SupervisionItem.office_department_id)).all()
        assert items, "the overdue notice made no supervision item"
        world.ids[("item", "P")] = items[0][0]
        for key, username in (("P", "gat_reviewer"), ("C", "zz_reviewer")):
            user_id = session.execute(select(User.id).where(User.username == username)).scalar_one()
            note = session.execute(select(Notification.id).where(Notification.user_id == user_id)
                                   .order_by(Notification.id)).scalars().first()
            assert note is not None, username
            world.ids[("notification", key)] = note


@pytest.fixture(scope="module")
def world(db_template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One migrated database, the app, every demo user's bearer client and page session, the objects."""
    from app.main import create_app

    tmp = tmp_path_factory.mktemp("matrix")
    admin_engine = None
    if db_template.kind == "sqlite":
        path = tmp / "matrix.db"
        shutil.copyfile(db_template.location, path)
        url = f"sqlite:///{path}"
    else:
        assert db_template.admin_url
        name = f"{db_template.location}_m{uuid.uuid4().hex[:8]}"
        admin_engine = _pg_admin(db_template.admin_url)
        with admin_engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{db_template.location}"'))
        url = make_url(db_template.admin_url).set(database=name).render_as_string(hide_password=False)
    clock.freeze(datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI))
    rt = build_runtime(_settings(url).model_copy(update={"attachments_dir": tmp / "attachments"}))
    app = create_app(rt.settings, runtime=rt)
    with TestClient(app) as lifespan:
        w = World(app=app, api={}, pages={}, csrf={})
        w.api = {u: _bearer(app, u) for u in ("rst_clerk", "gat_reviewer", "zz_clerk", "zz_reviewer",
                                              "data_reviewer", "zz_data_reviewer", "gat_clerk", "designer")}
        _build(w)
        _escalate(w, rt)
        # A scheduler beat at the final (frozen) clock, so that /readyz answers 200 rather than 503.
        from app.ops.jobs import Heartbeat
        Heartbeat(rt.db).beat()
        # Sign everyone in at the final clock (tokens are judged on it until the clock helper lands).
        w.api = {u: _bearer(app, u) for u in USERS}
        w.api[ANON] = TestClient(app, follow_redirects=False)
        for u in USERS:
            w.pages[u], w.csrf[u] = _page_session(app, u)
        w.pages[ANON] = TestClient(app, follow_redirects=False)
        w.csrf[ANON] = _csrf_of(w.pages[ANON].get("/login").text)
        yield w
        for c in [*w.api.values(), *w.pages.values()]:
            if c is not lifespan:
                c.close()
    clock.reset()
    rt.db.dispose()
    if admin_engine is not None:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


# ---- the cases --------------------------------------------------------------------------------------------

def _route_table() -> list[tuple[str, str, bool]]:
    """The app's routes, built once at collection on a throwaway app (no database touched)."""
    from app.core.config import Settings
    from app.main import create_app
    from tests.conftest import SECRET

    app = create_app(Settings(environment="test", database_url="sqlite://", secret_key=SECRET,
                              enable_time_travel=True, run_scheduler=False))
    routes = sorted(set(iter_routes(app)), key=lambda r: (r[0] != "GET", r[1], r[0]))
    return routes


ROUTES = _route_table()


def test_every_route_is_in_the_table_and_every_openapi_operation_is_a_route() -> None:
    from app.core.config import Settings
    from app.main import create_app
    from tests.conftest import SECRET

    unknown = [f"{m} {p}" for m, p, _ in ROUTES if (m, p) not in EXPECT]
    assert not unknown, "routes missing from the authorization matrix (add them to EXPECT):\n" + "\n".join(unknown)
    stale = [f"{m} {p}" for m, p in EXPECT if (m, p) not in {(m2, p2) for m2, p2, _ in ROUTES}]
    assert not stale, "EXPECT names routes the app does not have:\n" + "\n".join(stale)
    app = create_app(Settings(environment="test", database_url="sqlite://", secret_key=SECRET,
                              enable_time_travel=True, run_scheduler=False))
    seen = {(m, re.sub(r":path}", "}", p)) for m, p, _ in ROUTES}
    for path, ops in app.openapi()["paths"].items():
        for method in ops:
            assert (method.upper(), path) in seen, f"{method.upper()} {path} is in the OpenAPI but not tested"


def _sets(method: str, path: str) -> list[str]:
    kind = _kind(path)
    if kind is None:
        return ["-"]
    sets = [s for s in ("P", "C", "T") if (kind, s) in READERS]
    if method != "GET":
        # Writes go to the provincial objects only: 郑州's and 中牟's users are their other level already.
        sets = sets[:1]
    if "entry_code" in path or path in QUERY and "{list_entry}" in QUERY[path].values():
        sets = [s for s in sets if (kind, s) in ENTRY]
    return sets


def _kind(path: str) -> str | None:
    for name in re.findall(r"{(\w+)", path):
        if name in PARAM_KIND:
            return PARAM_KIND[name]
    return QUERY_KIND.get(path)


def _relation(user: str, kind: str | None, key: str) -> str:
    if kind is None or user == ANON:
        return "-" if user != ANON else "anonymous"
    parties = PARTIES.get((kind, key), set())
    dept = USERS[user]
    if dept in parties:
        return "own"
    levels = {LEVEL[d] for d in parties}
    return "other_department" if LEVEL[dept] in levels else "other_level"


def _url(world: World, path: str, key: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "entry_code":
            return ENTRY.get((_kind(path) or "", key), ENTRY[("version", "P")])
        if name == "process_key":
            return "sharing_share_request"
        if name == "job_id":
            return "escalate-overdue"
        if name == "department_code":
            return "410000-data"
        if name == "username":
            return "rst_clerk"
        if name == "version":
            return "1"
        if name in ("copy_id", "phrase_id", "filter_id"):
            return "1"  # one's own objects (the desk): the routes are everyone's, the rows the owner's
        if name == "report_id":
            return str(world.ids[("report", "P")])
        if name in ("draft_id", "submission_id"):
            return str(world.ids[(name.removesuffix("_id"), "P")])
        kind = PARAM_KIND[name]
        k = key if (kind, key) in world.ids else "P"
        return str(world.ids[(kind, k)])
    return re.sub(r"{(\w+)(?::path)?}", fill, path)


def _query(world: World, path: str, key: str) -> dict[str, str]:
    k = key if key != "-" else "P"
    values = {"version": world.ids.get(("version", k)), "dispute": world.ids.get(("dispute", k)),
              "share_request": world.ids.get(("share_request", k)), "list_entry": ENTRY[("open_list", "P")]}
    return {name: value.format(**values) for name, value in QUERY.get(path, {}).items()}


def _succeeded(r, page: bool) -> bool:  # type: ignore[no-untyped-def]
    if 200 <= r.status_code < 300:
        return True
    # A page's action answers with a redirect; one to the login page is a refusal.
    return page and 300 <= r.status_code < 400 and not r.headers.get("location", "").startswith("/login")


def _call(world: World, method: str, path: str, page: bool, user: str, key: str):  # type: ignore[no-untyped-def]
    url = _url(world, path, key)
    params = _query(world, path, key)
    if page:
        client = world.pages[user]
        if method == "GET":
            return client.get(url, params=params)
        return client.request(method, url, data={"csrf_token": world.csrf[user], **FORM.get((method, path), {})})
    client = world.api[user]
    if (method, path) in UPLOAD_ROUTES:
        k = key if key != "-" else "P"
        return client.post(url, data={"owner_type": "dispute", "owner_id": str(world.ids[("dispute", k)])},
                           files={"file": ("越权.pdf", b"%PDF-1.4 x", "application/pdf")})
    if method == "GET":
        return client.get(url, params=params)
    body = JSON.get((method, path), {})
    return client.request(method, url, json=body, params=params)


def _allowed(rule: Rule, key: str) -> frozenset[str]:
    if isinstance(rule, Reads):
        return READERS[(rule.kind, key if key != "-" else "P")]
    return rule


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _ in ROUTES], ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_route(world: World, method: str, path: str) -> None:
    """Call the route as every user and anonymous, on each object set; fail listing every offender."""
    rule = EXPECT.get((method, path))
    if rule is None:
        pytest.fail(f"{method} {path} is not in the authorization matrix: add it to EXPECT")
    page = not path.startswith("/api/") and path not in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
    kind = _kind(path)
    offenders: list[str] = []
    for key in _sets(method, path):
        allowed = _allowed(rule, key)
        for user in CALLERS:
            if method != "GET" and user in allowed:
                continue  # would change the objects the other cases read; the area's own tests cover it
            r = _call(world, method, path, page, user, key)
            where = f"{user} ({_relation(user, kind, key)}, set {key})"
            if r.status_code >= 500:
                offenders.append(f"{where}: {r.status_code} server error")
            elif _succeeded(r, page) and user not in allowed:
                offenders.append(f"{where}: unexpected {r.status_code}")
            elif (method == "GET" and isinstance(rule, Reads) and user in allowed and r.status_code == 404):
                offenders.append(f"{where}: a reader the table allows got 404")
    assert not offenders, f"{method} {path}:\n" + "\n".join(offenders)
