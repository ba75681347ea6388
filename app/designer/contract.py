"""The contract between the procedures' Python code and their BPMN files, declared in one place.

Each shipped process names the user tasks its area's code addresses by id (task validators, after-step
hooks, queries on `task.task_spec`) and the form fields that code reads from the submitted data. A draft
that deletes or renames one of them would deploy and then break the procedure at run time, so the
designer's validation refuses it (code `contract`) and the modeler marks those elements as system-bound.
tests/designer/test_contract.py keeps this table and the registered hooks from drifting apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BoundTask:
    """A user task the code needs: its id, the form fields the code reads, who uses it and why."""

    task_id: str
    used_by: str
    purpose: str
    fields: tuple[str, ...] = ()
    # The start variable holding the code of the department that works the task (extension property
    # `department`): the code starts instances with exactly this variable.
    department: str | None = None


@dataclass(frozen=True)
class ProcessContract:
    """What the code of one process needs of its BPMN."""

    process_key: str
    tasks: tuple[BoundTask, ...]
    # Variables the code starts the instance with or reads when it ends (for the designer's information).
    variables: tuple[tuple[str, str], ...] = ()
    # Variables some script task of the file must assign, because the code reads them when the process ends.
    assigns: tuple[tuple[str, str], ...] = ()

    def task(self, task_id: str) -> BoundTask | None:
        """Return the bound task with this id, if any."""
        return next((t for t in self.tasks if t.task_id == task_id), None)


_SHARING, _CATALOG, _UPDATES = "app.sharing.flows", "app.catalog.versions", "app.catalog.updates"
_DISPUTES, _OPEN_DATA, _RECTIFICATION = "app.disputes.flows", "app.open_data.flows", "app.rectification.flows"
_SYSTEMS = "app.systems.flows"

CONTRACTS: dict[str, ProcessContract] = {c.process_key: c for c in (
    ProcessContract(
        "sharing_share_request",
        tasks=(
            BoundTask("review", _SHARING, "提供部门答复共享申请：校验“不同意”须说明理由和依据、“部分同意”须选择数据项"
                      "（第十六条），流程据此作出决定时生成共享授权或记录拒绝",
                      ("decision", "approved_items", "terms", "reason", "legal_basis"), "provider_department"),
        ),
        variables=(("share_type", "申请时由 app.sharing.flows 设置的共享类型"),
                   ("provider_department", "提供部门编码（任务所属部门）"),
                   ("outcome", "一经赋值 app.sharing.flows 即读取：granted 生成共享授权（随后交共享交换系统开通），"
                               "refused 记录拒绝")),
        assigns=(("outcome", "app.sharing.flows 在它被赋值的那一步读取，决定生成共享授权（granted）还是记录拒绝"),),
    ),
    ProcessContract(
        "catalog_catalog_review",
        tasks=(
            BoundTask("review", _CATALOG, "主管部门审定目录：校验逐条审定结论并写回目录条目，退回或发布目录版本",
                      ("decisions", "comment"), "authority_department"),
            BoundTask("revise", _CATALOG, "编制部门修改后重新提交：记录修改说明并重新送审", ("note",), "department"),
        ),
        variables=(("department", "编制部门编码"), ("authority_department", "审定的主管部门编码")),
    ),
    ProcessContract(
        "catalog_catalog_update",
        tasks=(
            BoundTask("submit_update", _UPDATES, "提交更新后的目录（第九条 10 个工作日）：校验并记录履行更新义务的目录版本",
                      ("version_id",), "department"),
        ),
        variables=(("department", "负有更新义务的部门编码"), ("effective_on", "期限起算日")),
    ),
    ProcessContract(
        "disputes_share_dispute",
        tasks=(
            BoundTask("provider_position", _DISPUTES, "提供部门协商意见：校验立场、数据项和依据，记入争议记录",
                      ("stance", "offered_items", "terms", "position", "basis", "request_coordination"),
                      "provider_department"),
            BoundTask("requester_position", _DISPUTES, "使用部门回应：接受、继续协商或提请协调",
                      ("response", "position"), "requester_department"),
            BoundTask("coordinate", _DISPUTES, "主管部门协调评判：要求陈述、记录会商、作出评判（第十七条）",
                      ("action", "question", "meeting_date", "meeting_participants", "meeting_minutes", "decision",
                       "decided_items", "terms", "reasons", "basis"), "authority_department"),
            BoundTask("requester_statement", _DISPUTES, "使用部门陈述意见：记入争议记录",
                      ("statement", "attachment_ids"), "requester_department"),
            BoundTask("provider_statement", _DISPUTES, "提供部门陈述意见：记入争议记录",
                      ("statement", "attachment_ids"), "provider_department"),
            BoundTask("compliance", _DISPUTES, "提供部门落实评判：记录落实情况并通知", ("note",), "provider_department"),
        ),
        variables=(("provider_department", "提供部门编码"), ("requester_department", "使用部门编码"),
                   ("authority_department", "主管部门编码"), ("escalation_reason", "协商期满提请协调的原因")),
    ),
    ProcessContract(
        "open_data_open_list_review",
        tasks=(
            BoundTask("review", _OPEN_DATA, "主管部门审查开放清单：校验逐项意见，退回或发布清单",
                      ("decision", "comment", "item_comments"), "authority_department"),
            BoundTask("revise", _OPEN_DATA, "编制部门修改后重新提交：记录修改说明", ("note",), "owner_department"),
        ),
        variables=(("owner_department", "编制部门编码"), ("authority_department", "主管部门编码"),
                   ("outcome", "流程结束时读取：published 发布清单")),
        assigns=(("outcome", "app.open_data.flows 在流程结束时读取它，published 时发布开放清单"),),
    ),
    ProcessContract(
        "rectification_notice",
        tasks=(
            BoundTask("rectify", _RECTIFICATION,
                      "被通知部门整改并报告或申请免责（第二十九条）：记入整改记录，按主管部门设定的期限计时",
                      ("action", "report", "ground", "explanation", "attachment_ids"), "notified_department"),
            BoundTask("verify", _RECTIFICATION, "主管部门核验整改情况：记录核验结论与新期限",
                      ("decision", "reason", "deadline_working_days"), "authority_department"),
            BoundTask("decide_exemption", _RECTIFICATION, "主管部门审查免责申请（第三十条）：记录决定",
                      ("decision", "reason", "deadline_working_days"), "authority_department"),
        ),
        variables=(("notified_department", "被通知部门编码"), ("authority_department", "主管部门编码")),
    ),
    ProcessContract(
        "systems_business_system",
        tasks=(
            BoundTask("record_approval", _SYSTEMS,
                      "部门登记立项（第七条）：校验本部门已提交并经主管部门审定、列明系统全部数据项的目录，记录立项批复",
                      ("approval_number", "approval_date", "approving_body"), "department"),
        ),
        variables=(("department", "登记业务系统的部门编码"), ("authority_department", "审定目录的主管部门编码"),
                   ("business_system_id", "业务系统编号")),
    ),
)}


def contract_for(process_key: str | None) -> ProcessContract | None:
    """Return the contract of a process, or None when no code depends on it."""
    return CONTRACTS.get(process_key or "")
