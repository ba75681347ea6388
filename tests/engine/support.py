"""Helpers for engine tests: real BPMN fixtures and small BPMN builders."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).parent / "bpmn"

NAMESPACES = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)


@dataclass(frozen=True)
class Definition:
    """A BPMN file as the runner stores it: bytes plus content hash."""

    xml: bytes
    content_hash: str


def definition(xml: bytes) -> Definition:
    """Wrap BPMN bytes with their content hash."""
    return Definition(xml, hashlib.sha256(xml).hexdigest())


def fixture(name: str) -> Definition:
    """Load tests/engine/bpmn/<name>.bpmn."""
    return definition((FIXTURES / f"{name}.bpmn").read_bytes())


def linear(*elements: str, extra: str = "", process_id: str = "test_lint") -> bytes:
    """Build a one-process BPMN file chaining start → elements… → end with sequence flows."""
    ids = [re.search(r'\bid="([^"]+)"', element).group(1) for element in elements]  # type: ignore[union-attr]
    chain = ["start", *ids, "end"]
    flows = "\n".join(
        f'<bpmn:sequenceFlow id="flow_{i}" sourceRef="{a}" targetRef="{b}" />'
        for i, (a, b) in enumerate(zip(chain, chain[1:]))
    )
    body = "\n".join(elements)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="Definitions_lint" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start" />
    {body}
    {extra}
    <bpmn:endEvent id="end" />
    {flows}
  </bpmn:process>
</bpmn:definitions>
""".encode()
