"""Chinese names of audit actions, as the histories (流转记录) show them: one registry for every page."""

ACTION_ZH: dict[str, str] = {
    # engine and tasks
    "process.deployed": "部署流程定义", "instance.started": "流程启动", "instance.completed": "流程结束",
    "instance.cancelled": "撤销流程", "instance.migrated": "迁移到新版本", "timer.fired": "定时触发",
    "instance.stuck": "发现流程实例停滞",
    "task.created": "生成待办",
    "task.claimed": "签收任务", "task.unclaimed": "退回签收", "task.completed": "办理任务",
    "task.cancelled": "撤回待办", "task.paused": "挂起", "task.resumed": "恢复计时", "task.reassigned": "转办",
    "task.reminded": "到期提醒", "task.deadline_recomputed": "重新计算期限", "task.escalated": "逾期纳入督查督办",
    # usage log (Art. 12)
    "system_client.created": "新建系统凭据", "system_client.rotated": "更换系统凭据密钥",
    "system_client.deactivated": "停用系统凭据", "system_client.topics_changed": "修改系统凭据可领取的主题",
    "usage.batch_ingested": "接收数据使用日志",
    "usage.rectification_opened": "据异常使用发出整改通知", "usage.archived": "数据使用日志归档",
    # supervision
    "supervision.urged": "督办催办", "supervision.closed": "督办事项办结", "supervision.decided": "督办决定",
    "supervision.task_done": "督办事项随办理自动办结",
    # sharing
    "share_request.submitted": "提交共享申请", "share_grant.created": "授权共享", "share_request.refused": "不予共享",
    "share_request.withdrawn": "申请部门撤销申请",
    # catalog
    "catalog_entry.created": "登记目录条目", "catalog_version.created": "新建草稿",
    "catalog_version.entry_added": "新增条目", "catalog_version.entry_changed": "变更条目",
    "catalog_version.entry_withdrawn": "撤销条目", "catalog_version.entry_restored": "恢复条目",
    "catalog_version.entry_removed": "删除新增条目", "catalog_version.imported": "表格导入",
    "catalog_version.submitted": "提交审定", "catalog_version.resubmitted": "修改后重新提交",
    "catalog_version.reviewed": "审定", "catalog_version.returned": "退回修改",
    "catalog_version.published": "发布为现行目录", "catalog_version.discarded": "作废",
    "catalog_update.triggered": "登记目录更新事由", "catalog_update_duty.assigned": "下达目录更新任务",
    "catalog_update_duty.fulfilled": "提交更新后的目录",
    # open lists
    "open_list.created": "新建开放清单", "open_list.item_added": "列入条目", "open_list.item_updated": "修改条目",
    "open_list.item_removed": "移除条目", "open_list.submitted": "提交审查", "open_list.resubmitted": "修改后重新提交",
    "open_list.returned": "退回修改", "open_list.published": "审查通过并公布", "open_list.superseded": "被新版本替代",
    "yearly_report.published": "公布年度评估报告和改进意见",
    "open_list.discarded": "作废草稿",
    # new business systems (Art. 7)
    "business_system.registered": "登记新建业务系统", "business_system.approved": "登记立项",
    "business_system.withdrawn": "撤回业务系统登记",
    # disputes
    "dispute.opened": "提起共享争议", "dispute.escalated": "提请主管部门协调", "dispute.settled": "协商一致",
    "dispute.decided": "主管部门评判", "dispute.complied": "落实评判",
    # rectification
    "rectification.issued": "发出整改通知", "rectification.deadline_set": "确定整改期限",
    "rectification.reported": "报告整改情况", "rectification.exemption_claimed": "申请免责",
    "rectification.accepted": "核验通过", "rectification.returned": "核验不通过，退回整改",
    "rectification.exemption_granted": "准予免责", "rectification.exemption_refused": "不予免责",
    "rectification.withdrawn": "撤回整改通知", "rectification.prefix_set": "设置文号前缀",
    # electronic signatures (Art. 26)
    "document.signed": "文书电子签名", "signing_key.created": "生成签名密钥", "signing_key.rotated": "更换签名密钥",
    "crypto.keys_rotated": "密钥重新封装到新主密钥下", "attachments.encrypted_at_rest": "旧附件加密保存",
    # administration
    "attachment.uploaded": "上传附件", "calendar.year_loaded": "导入年度工作日历", "clock.moved": "调整演示时钟",
    "department.created": "新增部门", "audit.algorithm_changed": "审计链哈希算法变更（新的一段）",
    "user.created": "新增用户", "user.bootstrapped": "创建初始管理员",
    "user.sessions_revoked": "退出全部登录", "user.login_locked": "登录失败过多，账号暂时锁定",
    "login_address.locked": "登录失败过多，网络地址暂时锁定", "demo.seeded": "导入演示数据",
    # task actions (app/tasks/actions.py)
    "task.returned": "退回", "task.withdrawn": "撤回已办", "task.supplement_requested": "退回申请人补正",
    "task.supplemented": "申请人补正", "task.addsign_requested": "加签", "task.addsign_signed": "加签人签署意见",
    "task.delegated": "委派", "task.delegate_answered": "受委派人填写意见", "task.deputy_acted": "代理办理",
    "deputy.set": "设置代理人", "deputy.cleared": "取消代理",
    # external tasks (issue 16)
    "external_task.created": "生成外部任务", "external_task.locked": "外部系统领取任务",
    "external_task.completed": "外部系统完成任务", "external_task.failed": "外部系统报告失败，稍后重试",
    "external_task.incident_opened": "外部任务重试用尽，转为故障", "external_task.retried": "管理员重试故障任务",
    "external_task.bpmn_error": "外部系统报告业务错误", "external_task.lock_extended": "外部系统延长锁定",
    "external_task.cancelled": "撤回外部任务",
    # approval desk
    "case.copied": "抄送", "case.copy_read": "已阅", "task.urged": "催办", "case.commented": "发表评论",
    "case.attachment_added": "上传附件",
}


def action_label(action: str) -> str:
    """Return the Chinese name of an audit action, or the action itself if it has none."""
    return ACTION_ZH.get(action, action)


# The answers of the shipped task forms (camunda:formData enum values) as a history reads them: a value
# is never shown raw. A value a designer's own process adds and nobody named here is shown as it is.
DECISION_VALUE_ZH: dict[str, str] = {
    "approve": "同意", "partial": "部分同意", "refuse": "不同意",
    "share": "予以共享", "conditional": "有条件共享", "not_share": "不予共享",
    "accept": "通过", "return": "退回修改", "grant": "准予免责",
    "continue": "不接受，继续协商", "escalate": "提请政务数据主管部门协调", "decide": "作出评判",
    "ask_both": "要求双方陈述意见", "ask_provider": "要求提供部门陈述意见", "ask_requester": "要求使用部门陈述意见",
    "meeting": "记录协调会", "report": "报告整改情况", "claim_exemption": "申请免责",
}
