"""Who reviews: the data authority of the department's region, else the nearest one above."""

from app.core.clock import clock

from app.open_data import service
from app.org.models import Department
from app.org.service import get_department_by_code
from app.runtime import Runtime


def test_reviewing_authority_by_region(rt: Runtime) -> None:
    with rt.db.session() as session:
        gat = get_department_by_code(session=session, code="410000-gat")
        zz = get_department_by_code(session=session, code="410100-gaj")
        assert gat is not None and zz is not None
        assert service.authority_for(session=session, department=gat).code == "410000-data"  # type: ignore[union-attr]
        assert service.authority_for(session=session, department=zz).code == "410100-data"  # type: ignore[union-attr]
        # 郑州市中原区 has no data authority of its own in the demo: 郑州市's reviews.
        county = Department(code="410102-test", name="郑州市中原区测试局", kind="department", region_code="410102",
                            created_at=clock.now())
        session.add(county)
        session.flush()
        assert service.authority_for(session=session, department=county).code == "410100-data"  # type: ignore[union-attr]
        session.rollback()
