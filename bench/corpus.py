"""Bench: what GovFlow does with BPMN files it did not write (issue 16's measurement).

    .venv/bin/python bench/corpus.py --extract /work/.mirror /work/corpus   # once: copy the files out
    .venv/bin/python bench/corpus.py /work/corpus/*                          # measure

The corpora are third-party files and are never committed. `--extract` reads them from the git
directories the `fetch` tool leaves under /work/.mirror (no work tree: `git ls-tree` / `git cat-file` at
HEAD) into <out>/<source>/<path in the repository>. What is taken (see SOURCES): every *.bpmn and
*.bpmn20.xml of camunda/camunda-bpm-examples, bpmn-io/bpmn-js-examples and sartography/SpiffWorkflow,
and of bpmn-miwg/bpmn-miwg-test-suite the reference models (Reference/) plus the exports of the three
modelers that target execution (bpmn.io (Camunda Modeler), Camunda Eclipse Plugin, Trisotech Workflow
Modeler): the suite's other ~700 files are the same 21 models exported by other drawing tools.

Per file, deterministic and bounded in time (`--timeout` seconds per stage, past it: bucket `timeout`):

* **bare engine runs**: SpiffWorkflow's plain CamundaParser (no XSD validation, its default unrestricted
  PythonScriptEngine, real time) parses the file; the file has at least one executable process; and each
  run below completes `BpmnWorkflow(spec, subprocess_specs).do_engine_steps()` without an exception,
  with no variables. The runs: the collaboration (`get_collaboration`) when a bpmn:collaboration has two or
  more executable participants, else every executable process that no call activity of the same file calls
  (call activities must find their callee in the file). Runs in a forked child per file (the scripts
  are third-party code, and a hang is killed).
* **GovFlow**: `Runner.deploy` into a throwaway SQLite database migrated and seeded as the test suite's
  template is (app.cli.migrate, app.startup.prepare, the demo organisation), then `Runner.start` with
  empty variables as the system. Buckets: refused at deploy (by problem code and by kind of Chinese
  message: the message with its element ids blanked), deployed but start refused with a 4xx (422 apart:
  a start that needs variables), started, and any other exception (**would be a 500**: file and the head
  of its traceback). Each file runs in its own transaction, rolled back afterwards.
* `--as-designer`: first make the two edits GovFlow's refusals ask a designer for, then measure the same
  way: a user task with no `camunda:candidateGroups` gets the role `reviewer` (审核人; a JUEL `assignee`
  other than a plain `${name}`, and a JUEL `candidateUsers`, on a task that is not multi-instance is
  dropped, as tasks go to roles; a plain `${name}` assignee is kept: it designates the task; a literal
  assignee, a Camunda demo user who does not exist here, is dropped), and a Java
  service task (`camunda:class` / `delegateExpression` / `expression`, or none of them) becomes an
  external task (`camunda:type="external"`, topic `corpus.<element id>`). This separates what the engine
  cannot do from the policy that asks who may do a task and what system does a step.
* **never moves**: a started instance that is running and has nothing that could end its wait: see
  app.ops.stuck.awaited() (open task rows, a scheduled timer, an awaited message, an open external task),
  the stuck-instance job's own test.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# source name -> (mirror directory under the --extract root, path filter)
SOURCES: dict[str, tuple[str, Callable[[str], bool]]] = {
    "camunda-bpm-examples": ("camunda+camunda-bpm-examples", lambda p: True),
    "bpmn-js-examples": ("bpmn-io+bpmn-js-examples", lambda p: True),
    "spiffworkflow": ("sartography+SpiffWorkflow", lambda p: True),
    "bpmn-miwg": ("bpmn-miwg+bpmn-miwg-test-suite", lambda p: p.split("/", 1)[0] in (
        "Reference", "bpmn.io (Camunda Modeler) 18.6.1", "Camunda Eclipse Plugin 3.0.0",
        "Trisotech Workflow Modeler 12.6.3")),
}
BPMN_SUFFIXES = (".bpmn", ".bpmn20.xml")


def extract(mirror_root: Path, out: Path) -> None:
    """Copy the selected BPMN files of each fetched repository's HEAD into out/<source>/…; print counts."""
    total = 0
    for source, (mirror, wanted) in SOURCES.items():
        git_dir = mirror_root / mirror / "repo"
        listing = subprocess.run(["git", "-C", str(git_dir), "ls-tree", "-r", "-z", "HEAD"],
                                 check=True, capture_output=True).stdout.decode()
        count = 0
        for entry in filter(None, listing.split("\0")):
            meta, path = entry.split("\t", 1)
            _, kind, blob = meta.split()
            if kind != "blob" or not path.lower().endswith(BPMN_SUFFIXES) or not wanted(path):
                continue
            data = subprocess.run(["git", "-C", str(git_dir), "cat-file", "blob", blob],
                                  check=True, capture_output=True).stdout
            target = out / source / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            count += 1
        head = subprocess.run(["git", "-C", str(git_dir), "rev-parse", "--short", "HEAD"],
                              check=True, capture_output=True, text=True).stdout.strip()
        print(f"{source:24} {count:4} files  ({mirror} @ {head})")
        total += count
    print(f"{'total':24} {total:4} files")


# --------------------------------------------------------------------------------------------
# The bare engine


BARE_OK, BARE_FAILED, BARE_TIMEOUT = "runs", "fails", "timeout"


def _bare_run(xml: bytes) -> tuple[str, str]:
    """Run a file on plain SpiffWorkflow (in the child process); return (verdict, why)."""
    from lxml import etree
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.camunda.parser import CamundaParser

    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
        parser = CamundaParser()
        parser.add_bpmn_xml(root)
        executable = [p.get("id") for p in root.iterfind("bpmn:process", ns)
                      if p.get("isExecutable", "true") == "true"]
        runs: list[tuple[Any, Any]] = []
        for collaboration in root.iterfind("bpmn:collaboration", ns):
            pools = [p.get("processRef") for p in collaboration.iterfind("bpmn:participant", ns)]
            if len([p for p in pools if p in executable]) >= 2:
                runs.append(parser.get_collaboration(collaboration.get("id")))
                break
        else:
            called = {(c.get("calledElement") or "").strip() for c in root.iter(f"{{{ns['bpmn']}}}callActivity")}
            for process_id in executable:
                if process_id not in called:
                    runs.append((parser.get_spec(process_id), parser.get_subprocess_specs(process_id)))
        if not runs:
            return BARE_FAILED, "no executable process"
        for spec, subprocess_specs in runs:
            workflow = BpmnWorkflow(spec, subprocess_specs)
            workflow.do_engine_steps()
    except Exception as exc:  # noqa: BLE001 - any failure means the bare engine does not run it
        return BARE_FAILED, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:160]
    return BARE_OK, ""


def _bare_child(xml: bytes, conn: Any) -> None:
    import logging

    logging.disable(logging.CRITICAL)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    conn.send(_bare_run(xml))
    conn.close()


def bare_engine(xml: bytes, timeout: float) -> tuple[str, str]:
    """Run `_bare_run` in a forked child, killed after `timeout` seconds."""
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_bare_child, args=(xml, sender))
    child.start()
    sender.close()
    verdict = (BARE_TIMEOUT, f"over {timeout:g} s")
    if receiver.poll(timeout):
        try:
            verdict = receiver.recv()
        except EOFError:
            verdict = (BARE_FAILED, "child died")
    child.kill()
    child.join()
    return verdict


# --------------------------------------------------------------------------------------------
# GovFlow


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so that no `except Exception` of the app swallows it."""


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


# What can end a running instance's wait, in the order of app.ops.stuck.awaited() (the stuck-instance job's
# own test, so that the measurement and the job agree on what "never moves" means).
WAIT_LABELS = ("timer", "open task", "awaited message", "external task")


def waiting_on(session: Any, instance: Any) -> list[str]:
    """Return the labels of what the running instance waits for (empty: it can never move)."""
    from sqlalchemy import select

    from app.engine.models import ProcessInstance
    from app.ops.stuck import awaited

    clauses = awaited()
    assert len(clauses) == len(WAIT_LABELS)
    return [label for label, clause in zip(WAIT_LABELS, clauses) if session.execute(
        select(ProcessInstance.id).where(ProcessInstance.id == instance.id, clause)).first() is not None]


@dataclass
class Outcome:
    """What happened to one file."""

    path: str
    source: str
    bare: str = ""
    bare_why: str = ""
    govflow: str = ""  # refused | start_refused | started | error | timeout
    codes: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    reason: str = ""
    status: int | None = None
    instance: str = ""  # completed | waiting: … | never moves
    trace: str = ""


_IDS = re.compile(r"[A-Za-z_][\w.\-:]*")


def message_kind(message: str, element_id: str | None) -> str:
    """Blank the element ids and other ASCII names out of a Chinese message, to count messages by kind."""
    text = message.replace(element_id, "…") if element_id else message
    text = re.sub(r"“[^”]*”", "“…”", text)
    text = re.sub(r"\$\{[^}]*\}|#\{[^}]*\}", "${…}", text)
    text = _IDS.sub(lambda m: m.group(0) if m.group(0) in _KEEP else "…", text)
    return re.sub(r"(…[\s,，、]*)+", "…", text)[:90]


_KEEP = {"camunda", "isExecutable", "true", "python", "JUEL", "POST", "api", "messages", "serviceTask",
         "sendTask", "businessRuleTask", "DMN", "executionListener", "taskListener", "inputOutput", "connector",
         "in", "out", "dataStore", "dataStoreReference", "class", "delegateExpression", "expression",
         "asyncBefore", "asyncAfter", "async", "candidateGroups", "messageRef", "bpmn", "message", "name",
         "resource", "scriptFormat", "ISO", "standardLoopCharacteristics", "calledElement", "XML", "DOCTYPE"}


class Measure:
    """A throwaway database and runtime built the way the test suite builds its template."""

    def __init__(self, workdir: Path) -> None:
        from app.cli import migrate
        from app.core.config import Settings
        from app.org.seed import load_demo
        from app.runtime import build_runtime
        from app.startup import prepare

        url = f"sqlite:///{workdir / 'corpus.db'}"
        migrate(url)
        self.rt = build_runtime(Settings(environment="test", database_url=url, run_scheduler=False,
                                         secret_key="corpus-measurement-secret-key-0123456789abcdef",
                                         enable_time_travel=False))
        prepare(self.rt)
        with self.rt.db.session() as session:
            load_demo(session, self.rt.settings.province_code)
            session.commit()

    def govflow(self, outcome: Outcome, xml: bytes, timeout: float) -> None:
        from app.core.errors import DomainError
        from app.engine.errors import BpmnRejected
        from app.engine.models import InstanceStatus

        session = self.rt.db.session_factory()
        stage = "deploy"
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            definition, _ = self.rt.runner.deploy(session, xml, filename=Path(outcome.path).name, actor="corpus")
            stage = "start"
            instance = self.rt.runner.start(session, definition.process_key, variables={}, actor="corpus")
            outcome.govflow = "started"
            if instance.status == InstanceStatus.completed.value:
                outcome.instance = "completed"
            else:
                waits = waiting_on(session, instance)
                outcome.instance = f"waiting: {', '.join(waits)}" if waits else "never moves"
        except _Timeout:
            outcome.govflow, outcome.reason = "timeout", f"{stage} over {timeout:g} s"
        except BpmnRejected as exc:
            if stage == "deploy":
                outcome.govflow = "refused"
            else:
                outcome.govflow, outcome.status = "start_refused", exc.status_code
            outcome.codes = tuple(sorted({p[2] for p in exc.problems}))
            outcome.kinds = tuple(sorted({message_kind(p[1], p[0]) for p in exc.problems}))
            outcome.reason = exc.problems[0][1][:200]
        except DomainError as exc:
            if exc.status_code >= 500:
                outcome.govflow = "error"
                outcome.trace = _trace_head(exc)
            else:
                outcome.govflow = "refused" if stage == "deploy" else "start_refused"
                outcome.status = exc.status_code
                outcome.codes = (exc.code,)
                outcome.kinds = (message_kind(exc.message_zh, None),)
                outcome.reason = exc.message_zh[:200]
        except Exception as exc:  # noqa: BLE001 - this is what the measurement looks for
            outcome.govflow = "error"
            outcome.reason = f"{stage}: {type(exc).__name__}: {exc}"[:200]
            outcome.trace = _trace_head(exc)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            session.rollback()
            session.close()
            # The rolled-back definition's id is free again (SQLite reuses it): forget what was cached under it.
            self.rt.runner._definitions.clear()


BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"


def as_designer(xml: bytes) -> bytes:
    """Return the file with the edits a designer makes on GovFlow's refusals (see --as-designer)."""
    from lxml import etree

    from app.engine import juel

    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return xml
    changed = False
    for task in root.iter(f"{{{BPMN}}}userTask"):
        multi = task.find(f"{{{BPMN}}}multiInstanceLoopCharacteristics") is not None
        for attr in ("assignee", "candidateUsers"):
            value = task.get(f"{{{CAMUNDA}}}{attr}")
            # A plain `${name}` assignee now designates the task (one of its candidate roles): kept.
            plain = attr == "assignee" and juel.bare_variable(value or "") is not None
            if value is not None and "${" in value and not multi and not plain:
                del task.attrib[f"{{{CAMUNDA}}}{attr}"]
                changed = True
            elif attr == "assignee" and value is not None and "${" not in value:
                # A literal user of Camunda's demo (demo, kermit…) does not exist here: the designer names a
                # real person or leaves the task to the role.
                del task.attrib[f"{{{CAMUNDA}}}{attr}"]
                changed = True
        if not (task.get(f"{{{CAMUNDA}}}candidateGroups") or "").strip():
            task.set(f"{{{CAMUNDA}}}candidateGroups", "reviewer")
            changed = True
    for task in root.iter(f"{{{BPMN}}}serviceTask"):
        if task.get(f"{{{CAMUNDA}}}type") == "external":
            continue
        for attr in ("class", "delegateExpression", "expression", "resultVariable"):
            task.attrib.pop(f"{{{CAMUNDA}}}{attr}", None)
        for connector in task.iter(f"{{{CAMUNDA}}}connector"):
            connector.getparent().remove(connector)
        task.set(f"{{{CAMUNDA}}}type", "external")
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", task.get("id") or "task")[:80]
        task.set(f"{{{CAMUNDA}}}topic", f"corpus.{safe}")
        changed = True
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") if changed else xml


def _trace_head(exc: BaseException, lines: int = 8) -> str:
    text = "".join(traceback.format_exception(exc)).rstrip().splitlines()
    return "\n".join(["    " + line for line in text[-lines:]])


# --------------------------------------------------------------------------------------------
# Report


def _files(dirs: list[Path]) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    for d in dirs:
        for path in sorted(d.rglob("*")):
            if path.is_file() and path.name.lower().endswith(BPMN_SUFFIXES):
                out.append((d.name, path))
    return out


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def report(outcomes: list[Outcome], top: int) -> None:
    sources = sorted({o.source for o in outcomes})
    header = ["files", "bare runs", "bare fails", "bare t/o", "deployed", "refused", "start 422", "start 4xx",
              "started", "completed", "waiting", "never moves", "500", "timeout"]
    print(f"{'source':24}" + "".join(f"{h:>12}" for h in header))

    def row(name: str, group: list[Outcome]) -> None:
        started = [o for o in group if o.govflow == "started"]
        start_refused = [o for o in group if o.govflow == "start_refused"]
        values = [
            len(group),
            sum(o.bare == BARE_OK for o in group), sum(o.bare == BARE_FAILED for o in group),
            sum(o.bare == BARE_TIMEOUT for o in group),
            len(started) + len(start_refused),
            sum(o.govflow == "refused" for o in group),
            sum(o.status == 422 for o in start_refused), sum(o.status != 422 for o in start_refused),
            len(started), sum(o.instance == "completed" for o in started),
            sum(o.instance.startswith("waiting") for o in started),
            sum(o.instance == "never moves" for o in started),
            sum(o.govflow == "error" for o in group), sum(o.govflow == "timeout" for o in group),
        ]
        print(f"{name:24}" + "".join(f"{v:>12}" for v in values))

    for source in sources:
        row(source, [o for o in outcomes if o.source == source])
    row("total", outcomes)

    bare = [o for o in outcomes if o.bare == BARE_OK]
    runs = [o for o in bare if o.govflow == "started"]
    print(f"\nOf the {len(bare)} files the bare engine runs, GovFlow deploys and starts {len(runs)} "
          f"({_pct(len(runs), len(bare))}); deploys {sum(o.govflow in ('started', 'start_refused') for o in bare)}.")

    refused = [o for o in outcomes if o.govflow in ("refused", "start_refused")]
    print(f"\nRefusals by problem code (files; a file counts once per code; {len(refused)} files refused):")
    for code, n in sorted(Counter(c for o in refused for c in o.codes).items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:4}  {code}")
    print(f"\nRefusals by kind of message (top {top}; files):")
    kinds = Counter(k for o in refused for k in o.kinds)
    for kind, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))[:top]:
        print(f"  {n:4}  {kind}")

    print("\nFiles the bare engine runs that GovFlow does not start (first reason):")
    for o in bare:
        if o.govflow != "started":
            print(f"  {o.source}/{o.path}: {o.govflow} [{','.join(o.codes)}] {o.reason}")

    print("\nFiles GovFlow starts that the bare engine does not run (its error):")
    for o in outcomes:
        if o.govflow == "started" and o.bare != BARE_OK:
            print(f"  {o.source}/{o.path}: {o.bare_why}")
    print(f"\nBare engine failures by exception (top {top}; files):")
    why = Counter(re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", o.bare_why)[:80] for o in outcomes if o.bare != BARE_OK)
    for text, n in sorted(why.items(), key=lambda kv: (-kv[1], kv[0]))[:top]:
        print(f"  {n:4}  {text}")

    errors = [o for o in outcomes if o.govflow == "error"]
    print(f"\nWould answer 500 ({len(errors)}):")
    for o in errors:
        print(f"  {o.source}/{o.path}: {o.reason}\n{o.trace}")
    stuck = [o for o in outcomes if o.instance == "never moves"]
    print(f"\nStarted and can never move ({len(stuck)}):")
    for o in stuck:
        print(f"  {o.source}/{o.path}")
    timeouts = [o for o in outcomes if o.govflow == "timeout" or o.bare == BARE_TIMEOUT]
    print(f"\nTimed out ({len(timeouts)}):")
    for o in timeouts:
        print(f"  {o.source}/{o.path}: bare {o.bare}, govflow {o.govflow} {o.reason}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path, help="one directory per source (its name is the source's)")
    parser.add_argument("--extract", nargs=2, type=Path, metavar=("MIRROR_ROOT", "OUT"))
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per file and stage")
    parser.add_argument("--top", type=int, default=20, help="message kinds listed")
    parser.add_argument("--as-designer", action="store_true",
                        help="first fill in candidate roles and turn Java service tasks into external tasks")
    args = parser.parse_args(argv)
    if args.extract:
        extract(*args.extract)
        return 0
    if not args.dirs:
        parser.error("name the corpus directories (or --extract)")
    import logging

    logging.disable(logging.WARNING)
    files = _files(args.dirs)
    with tempfile.TemporaryDirectory(prefix="govflow-corpus-") as tmp:
        measure = Measure(Path(tmp))
        outcomes: list[Outcome] = []
        for source, path in files:
            rel = str(path.relative_to(next(d for d in args.dirs if d.name == source)))
            outcome = Outcome(rel, source)
            xml = path.read_bytes()
            outcome.bare, outcome.bare_why = bare_engine(xml, args.timeout)
            measure.govflow(outcome, as_designer(xml) if args.as_designer else xml, args.timeout)
            outcomes.append(outcome)
        measure.rt.db.dispose()
    report(outcomes, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
