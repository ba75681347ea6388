"""Trivial expressions and scripts answered in this process, without a round trip to a script worker.

Most BPMN conditions and many script tasks are one comparison or one assignment: `share_type ==
"unconditional"`, `outcome = "refused" if decision == "refuse" else "granted"`. Sending each to a
worker process costs a pipe round trip and the whole task data as JSON both ways (measured ~0.2 ms
per call, several per request). Such code cannot loop, call, allocate or reach an attribute, so it
is evaluated here by a small interpreter over an allow-listed syntax tree:

- expressions made only of literals (str, int, float, bool, None, and tuples/lists/sets of them),
  variable names, comparisons (`==` `!=` `<` `<=` `>` `>=` `in` `not in` `is` `is not`),
  `and`/`or`/`not`, unary minus and `a if c else b`, at most `MAX_NODES` nodes;
- scripts made only of `name = <such an expression>` statements;
- every variable read must hold a plain scalar (exactly str, int, float, bool, None, date or
  datetime), so no comparison can run code of a class the data smuggled in.

Anything else, and any error at all (a missing variable, `"a" < 1`), is not answered here: the
caller sends the code to a worker as before, which gives the one canonical result or error message.
The code is compiled under the restricted policy first in every case (the caller does it), so what
is refused stays refused. The answers are the worker's: the same namespace rules (task data, then
external context, then our globals), the same harvest and normalization of a script's data.
"""

from __future__ import annotations

import ast
import functools
import operator
import textwrap
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from app.engine.restricted import GLOBALS, harvest, namespace_for, normalize_data, normalize_value

MAX_NODES = 64

NOT_TRIVIAL: Any = object()  # the sentinel "send it to a worker"

_SCALAR_TYPES = frozenset({str, int, float, bool, type(None), date, datetime})
_LITERAL_TYPES = frozenset({str, int, float, bool, type(None)})
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: operator.contains(b, a), ast.NotIn: lambda a, b: not operator.contains(b, a),
}

Evaluator = Callable[[Callable[[str], Any]], Any]


class _NotTrivial(Exception):
    """The code (or this run of it) is for a worker."""


def _constant(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant) and type(node.value) in _LITERAL_TYPES:
        return node.value
    raise _NotTrivial


def _container(node: ast.expr) -> Evaluator:
    """A literal tuple, list or set of literals, as the right operand of `in` / `not in` only."""
    if not isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return _build(node)
    items = [_constant(item) for item in node.elts]
    value = tuple(items) if isinstance(node, (ast.Tuple, ast.List)) else frozenset(items)
    return lambda lookup: value


def _is_singleton(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and (node.value is None or node.value is True or node.value is False)


def _build(node: ast.expr) -> Evaluator:
    """Turn an allow-listed expression node into a closure over a name lookup; raise _NotTrivial."""
    if isinstance(node, ast.Constant):
        value = _constant(node)
        return lambda lookup: value
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        name = node.id
        return lambda lookup: lookup(name)
    if isinstance(node, ast.Compare):
        left = _build(node.left)
        ops, rights = [], []
        operands = [node.left, *node.comparators]
        for i, (op, right) in enumerate(zip(node.ops, node.comparators)):
            if isinstance(op, (ast.Is, ast.IsNot)) and not (_is_singleton(operands[i]) or _is_singleton(right)):
                # Identity of two strings or numbers depends on interning, which differs between this
                # process and a worker's (its data came through JSON): only `is None/True/False` here.
                raise _NotTrivial
            ops.append(_COMPARE[type(op)])
            rights.append(_container(right) if isinstance(op, (ast.In, ast.NotIn)) else _build(right))

        def compare(lookup: Callable[[str], Any]) -> Any:
            a = left(lookup)
            for op, right in zip(ops, rights):
                b = right(lookup)
                if not op(a, b):
                    return False
                a = b
            return True
        return compare
    if isinstance(node, ast.BoolOp):
        parts = [_build(value) for value in node.values]
        if isinstance(node.op, ast.And):
            def all_of(lookup: Callable[[str], Any]) -> Any:
                result: Any = True
                for part in parts:
                    result = part(lookup)
                    if not result:
                        return result
                return result
            return all_of

        def any_of(lookup: Callable[[str], Any]) -> Any:
            result: Any = False
            for part in parts:
                result = part(lookup)
                if result:
                    return result
            return result
        return any_of
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        operand = _build(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda lookup: not operand(lookup)
        return lambda lookup: -operand(lookup)
    if isinstance(node, ast.IfExp):
        test, body, orelse = _build(node.test), _build(node.body), _build(node.orelse)
        return lambda lookup: body(lookup) if test(lookup) else orelse(lookup)
    raise _NotTrivial


def _small(tree: ast.AST) -> bool:
    return sum(1 for _ in ast.walk(tree)) <= MAX_NODES


@functools.lru_cache(maxsize=4096)
def _expression(source: str) -> Evaluator | None:
    try:
        tree = ast.parse(source.strip(), mode="eval")
        if not _small(tree):
            return None
        return _build(tree.body)
    except (SyntaxError, ValueError, _NotTrivial, RecursionError):
        return None


@functools.lru_cache(maxsize=4096)
def _script(source: str) -> tuple[tuple[str, Evaluator], ...] | None:
    try:
        tree = ast.parse(textwrap.dedent(source).strip("\n"), mode="exec")
        if not tree.body or not _small(tree):
            return None
        steps = []
        for statement in tree.body:
            if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name)):
                return None
            steps.append((statement.targets[0].id, _build(statement.value)))
        return tuple(steps)
    except (SyntaxError, ValueError, _NotTrivial, RecursionError):
        return None


def _lookup_in(*scopes: dict[str, Any]) -> Callable[[str], Any]:
    """Read a variable as the worker's namespace would; only plain scalars are answered here."""
    def lookup(name: str) -> Any:
        if name in GLOBALS:
            raise _NotTrivial
        for scope in scopes:
            if name in scope:
                value = scope[name]
                if type(value) not in _SCALAR_TYPES:
                    raise _NotTrivial
                return value
        raise _NotTrivial  # a NameError: the worker words it
    return lookup


def evaluate(source: str, context: dict[str, Any], external: dict[str, Any] | None,
             error: Callable[[str], Exception]) -> Any:
    """Return the value of a trivial expression, or NOT_TRIVIAL when a worker must answer."""
    evaluator = _expression(source)
    if evaluator is None:
        return NOT_TRIVIAL
    try:
        # The namespace's order: task data, then external context over it (namespace_for).
        value = evaluator(_lookup_in(external or {}, context))
    except Exception:  # noqa: BLE001 - any error is the worker's to report, in its words
        return NOT_TRIVIAL
    return normalize_value(value, error)


def execute(source: str, context: dict[str, Any], external: dict[str, Any] | None,
            error: Callable[[str], Exception]) -> dict[str, Any] | Any:
    """Return the task data a trivial script leaves behind, or NOT_TRIVIAL when a worker must run it."""
    steps = _script(source)
    if steps is None:
        return NOT_TRIVIAL
    assigned: dict[str, Any] = {}
    try:
        lookup = _lookup_in(assigned, external or {}, context)
        for name, evaluator in steps:
            if name in GLOBALS:
                return NOT_TRIVIAL
            assigned[name] = evaluator(lookup)
    except Exception:  # noqa: BLE001 - any error is the worker's to report, in its words
        return NOT_TRIVIAL
    namespace = namespace_for(context, external)
    namespace.update(assigned)
    return normalize_data(harvest(namespace, context, external), error)
