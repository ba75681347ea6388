"""Shared by the trial tests: the variables of a share-request trial run whose review goes to 省公安厅."""

from __future__ import annotations

SHARE_VARIABLES = {"share_type": "conditional", "provider_department": "410000-gat",
                   "requester_department": "410000-rst", "items": ["姓名", "身份证号"],
                   "entry_code": "T-001", "entry_name": "试运行条目"}
