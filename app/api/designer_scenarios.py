"""Run the scenario tests of a process (bpmn/scenarios/<process_key>/*.yaml) against a draft's XML."""

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from app.core.errors import InvalidInput
from app.deps import DesignerUser
from app.designer import scenarios
from app.engine.bpmn import describe

router = APIRouter(prefix="/designer/scenarios", tags=["designer"])

MAX_XML = 2_000_000


class RunBody(BaseModel):
    xml: str = Field(min_length=1, max_length=MAX_XML)
    process_key: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-]+$")


@router.post("/run")
async def run(body: RunBody, actor: DesignerUser) -> dict[str, Any]:
    """Run the process's scenarios on the XML; 422 listing the problems if it does not compile."""
    xml = body.xml.encode("utf-8")
    # Parsing and the scenarios run scripts in the sandbox workers: off the event loop.
    described = await run_in_threadpool(describe, xml)
    process_key = body.process_key or described.process_key
    try:
        results = await run_in_threadpool(scenarios.run_all, xml, process_key)
    except scenarios.ScenarioError as exc:
        raise InvalidInput(str(exc), code="scenario_invalid") from None
    finally:
        scenarios.forget(xml)
    return {"process_key": process_key,
            "results": [{k: r[k] for k in ("name", "passed", "path", "expected_path", "end", "message")}
                        for r in results]}
