"""The restricted-Python policy for BPMN scripts and expressions: compilation, guards, data rules.

Kept free of SpiffWorkflow (and of the rest of GovFlow) so that the script worker processes
(app/engine/script_worker.py) stay small: they import this module and nothing heavier.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import re
import textwrap
from collections.abc import Callable
from datetime import date, datetime
from types import CodeType, ModuleType
from typing import Any

from RestrictedPython import PrintCollector, compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    raise_,
    safer_getattr,
)
from RestrictedPython.Limits import limited_range
from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations

from app.engine.errors import ScriptError

# The worker's address-space limit bounds every allocation, whatever operation makes it; these
# guards come first anyway because they refuse the obvious cases before any work, with a clear
# message (big-integer power/multiply/shift, sequence repetition and concatenation, %-padding,
# str padding methods).
MAX_INT_BITS = 10_000
MAX_SEQUENCE_LEN = 1_000_000
# What a script may leave behind in task data (it is serialized after every step).
MAX_DATA_NODES = 100_000
MAX_DATA_CHARS = 5_000_000
# Deeper data cannot be serialized or compared without deep recursion; no form or case needs it.
MAX_DATA_DEPTH = 100
RESERVED_DATA_KEY = "typename"  # SpiffWorkflow's serializer reads a dict with this key as an object

DEADLINE_CHECK = "_deadline_check_"
FILENAME = "<bpmn>"


class DeadlineExceeded(BaseException):
    """Raised inside sandboxed code past its deadline; a BaseException so `except Exception` misses it."""


# --------------------------------------------------------------------------------------------
# Compilation


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython policy plus our guards: size-checked operators and deadline re-checks."""

    _GUARDED_BINOPS: dict[type[ast.operator], str] = {
        ast.Pow: "_guarded_pow_",
        ast.Mult: "_guarded_mul_",
        ast.LShift: "_guarded_lshift_",
        ast.Add: "_guarded_add_",
        ast.Mod: "_guarded_mod_",
    }

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        """Route the operators that can allocate without bound through checked helpers."""
        node = super().visit_BinOp(node)
        guard = self._GUARDED_BINOPS.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(func=ast.Name(guard, ast.Load()), args=[node.left, node.right], keywords=[])
        copy_locations(call, node)
        return call

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        """Re-raise a passed deadline first thing in every handler."""
        # A handler that swallowed the timeout must not get to run on: the CPU-timer signal fires
        # again, but the handler could swallow that one too.
        node = super().visit_ExceptHandler(node)
        node.body.insert(0, self._deadline_check(node))
        return node

    def visit_Try(self, node: ast.Try) -> ast.AST:
        """Re-raise a passed deadline first thing in every finally block."""
        node = super().visit_Try(node)
        if node.finalbody:
            node.finalbody.insert(0, self._deadline_check(node.finalbody[0]))
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        """Refuse classes: their magic methods (__exit__, __del__) could run user code past the deadline."""
        self.error(node, "class definitions are not allowed")
        return node

    def visit_With(self, node: ast.With) -> ast.AST:
        """Refuse `with`: a context manager can swallow the timeout."""
        self.error(node, "with statements are not allowed")
        return node

    def visit_Import(self, node: ast.Import) -> ast.AST:
        """Refuse imports at compile time, so the deploy lint reports them."""
        self.error(node, "import statements are not allowed")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        """Refuse imports at compile time, so the deploy lint reports them."""
        self.error(node, "import statements are not allowed")
        return node

    @staticmethod
    def _deadline_check(anchor: ast.AST) -> ast.stmt:
        call = ast.Expr(ast.Call(func=ast.Name(DEADLINE_CHECK, ast.Load()), args=[], keywords=[]))
        copy_locations(call, anchor)
        return call


@functools.lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> CodeType:
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compiler(source, filename=FILENAME, policy=_Policy)
    if result.errors or result.code is None:
        raise ScriptError("未通过安全编译：" + "；".join(result.errors))
    return result.code


def compile_expression(source: str) -> CodeType:
    """Compile a BPMN expression (condition, timer, loop condition) under the restricted policy."""
    return _compile(source.strip(), "eval")


def compile_script(source: str) -> CodeType:
    """Compile a BPMN script task body under the restricted policy."""
    return _compile(textwrap.dedent(source).strip("\n"), "exec")


def assigned_names(source: str) -> set[str]:
    """Return every variable name a script assigns (used by the deploy lint)."""
    tree = ast.parse(textwrap.dedent(source).strip("\n"))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


# --------------------------------------------------------------------------------------------
# Guards


def _refuse(what: str) -> ScriptError:
    return ScriptError(f"运算结果过大（{what}），已拒绝执行")


_SEQUENCES = (str, bytes, list, tuple)
# Exact-type fast paths: these guards run on every operator.
_SMALL_SCALARS = frozenset({float, bool, complex})


def _guarded_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    if (mod is None and type(base) is int and type(exp) is int
            and exp > 0 and abs(base) > 1 and exp * math.log2(abs(base)) > MAX_INT_BITS):
        raise _refuse("乘方")
    return pow(base, exp) if mod is None else pow(base, exp, mod)


def _guarded_mul(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta in _SMALL_SCALARS or tb in _SMALL_SCALARS:
        if not (isinstance(a, _SEQUENCES) or isinstance(b, _SEQUENCES)):
            return a * b
    if ta is int and tb is int:
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise _refuse("乘法")
        return a * b
    if isinstance(a, _SEQUENCES) and isinstance(b, int) and len(a) * b > MAX_SEQUENCE_LEN:
        raise _refuse("序列重复")
    if isinstance(b, _SEQUENCES) and isinstance(a, int) and len(b) * a > MAX_SEQUENCE_LEN:
        raise _refuse("序列重复")
    return a * b


def _guarded_lshift(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b > MAX_INT_BITS:
        raise _refuse("移位")
    return a << b


def _guarded_add(a: Any, b: Any) -> Any:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES) and len(a) + len(b) > MAX_SEQUENCE_LEN:
        raise _refuse("序列拼接")
    return a + b


# A %-format width or precision of seven digits or `*` can build a huge string in one C call.
_HUGE_PERCENT_FORMAT = re.compile(r"%[-#0 +]*(?:\*|\d{7,})|%[-#0 +]*\d*\.(?:\*|\d{7,})")


def _guarded_mod(a: Any, b: Any) -> Any:
    if isinstance(a, str) and _HUGE_PERCENT_FORMAT.search(a):
        raise _refuse("格式化宽度")
    if isinstance(a, bytes) and _HUGE_PERCENT_FORMAT.search(a.decode("latin-1")):
        raise _refuse("格式化宽度")
    return a % b


def _result_length(text: str | bytes, name: str, args: tuple[Any, ...]) -> int:
    """Return the length a str/bytes method call would produce, computed without producing it."""
    if name == "expandtabs":
        tabsize = args[0] if args else 8
        return len(text) * max(tabsize, 1)
    if name == "replace":
        old, new = args[0], args[1]
        count = args[2] if len(args) > 2 else -1
        hits = text.count(old)
        if count >= 0:
            hits = min(hits, count)
        return len(text) + hits * (len(new) - len(old))
    if name == "join":
        parts = args[0]
        return sum(len(part) for part in parts) + len(text) * max(len(parts) - 1, 0)
    return int(args[0]) if args else 0  # ljust, rjust, center, zfill: the width


_SIZE_CHECKED_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs", "replace", "join"})


def _guarded_getattr(obj: Any, name: str, default: Any = raise_) -> Any:
    value = safer_getattr(obj, name, default)
    if name in _SIZE_CHECKED_METHODS and isinstance(obj, (str, bytes)):
        def size_checked(*args: Any) -> Any:
            if name == "join":
                args = (list(args[0]),) if args else args  # a generator must be read only once
            if args and _result_length(obj, name, args) > MAX_SEQUENCE_LEN:
                raise _refuse("字符串")
            return value(*args)
        return size_checked
    return value


def _guarded_sum(iterable: Any, start: Any = 0) -> Any:
    # sum() with a list/str start concatenates quadratically inside one C call.
    if not isinstance(start, (int, float, complex)):
        raise ScriptError("sum() 只能用于数值")
    return sum(iterable, start)


_INPLACE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": _guarded_add,
    "-=": operator.sub,
    "*=": _guarded_mul,
    "/=": operator.truediv,
    "//=": operator.floordiv,
    "%=": _guarded_mod,
    "**=": _guarded_pow,
    "<<=": _guarded_lshift,
    ">>=": operator.rshift,
    "&=": operator.and_,
    "|=": operator.or_,
    "^=": operator.xor,
}


def _guarded_inplacevar(op: str, x: Any, y: Any) -> Any:
    func = _INPLACE_OPS.get(op)
    if func is None:
        raise ScriptError(f"不支持的运算符 {op}")
    return func(x, y)


def _guarded_apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def _builtins() -> dict[str, Any]:
    allowed = dict(safe_builtins)
    # Scripts must not be able to raise what stops a worker, nor define classes.
    for name in ("__build_class__", "BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit"):
        allowed.pop(name, None)
    allowed.update({
        "len": len, "min": min, "max": max, "sum": _guarded_sum, "sorted": sorted, "any": any,
        "all": all, "abs": abs, "round": round, "str": str, "int": int, "float": float, "bool": bool,
        "list": list, "dict": dict, "set": set, "tuple": tuple, "range": limited_range,
        "enumerate": enumerate, "zip": zip, "isinstance": isinstance, "pow": _guarded_pow,
    })
    return allowed


GLOBALS: dict[str, Any] = {
    "__builtins__": _builtins(),
    "__name__": "bpmn_script",
    "_getattr_": _guarded_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _guarded_inplacevar,
    "_apply_": _guarded_apply,
    "_print_": PrintCollector,
    "_guarded_pow_": _guarded_pow,
    "_guarded_mul_": _guarded_mul,
    "_guarded_lshift_": _guarded_lshift,
    "_guarded_add_": _guarded_add,
    "_guarded_mod_": _guarded_mod,
}
INJECTED = frozenset(GLOBALS) | {DEADLINE_CHECK}


# --------------------------------------------------------------------------------------------
# Data


def normalize_data(data: dict[str, Any], error: Callable[[str], Exception]) -> dict[str, Any]:
    """Return a JSON-safe copy of task data (datetimes as ISO text); raise `error(msg)` when impossible.

    Never recurses deeper than MAX_DATA_DEPTH, so hostile nesting is refused, not a RecursionError.
    """
    if not isinstance(data, dict):
        raise error("数据必须是键值对象")
    out: dict[str, Any] = {}
    walk = _Walker(error, instants_as_text=True)
    for key, value in data.items():
        if not isinstance(key, str):
            raise error(f"变量名 {key!r} 不是字符串")
        if key == RESERVED_DATA_KEY:
            raise error(f"变量名 {RESERVED_DATA_KEY} 为系统保留，不能使用")
        out[key] = walk(value, key, 1)
    return out


def normalize_value(value: Any, error: Callable[[str], Exception]) -> Any:
    """Return a JSON-safe copy of an expression's value (datetimes kept), bounded like task data."""
    return _Walker(error, instants_as_text=False)(value, "表达式的值", 1)


_SCALARS = frozenset({type(None), bool, int, float})
_SEQUENCE_TYPES = (list, tuple, set, frozenset, range)
Path = tuple[Any, ...]  # (parent path, key or index), rendered only for a message: most walks never fail


class _Walker:
    """One bounded walk over a value: node, text and depth budgets shared across the whole walk."""

    def __init__(self, error: Callable[[str], Exception], *, instants_as_text: bool) -> None:
        self.error = error
        self.instants_as_text = instants_as_text
        self.nodes = MAX_DATA_NODES
        self.chars = MAX_DATA_CHARS

    def __call__(self, value: Any, path: Path | str, depth: int) -> Any:
        self.nodes -= 1
        if self.nodes < 0:
            raise self.error("数据过大（元素过多）")
        kind = type(value)
        if kind in _SCALARS:
            return value
        if kind is str:
            self.chars -= len(value)
            if self.chars < 0:
                raise self.error("数据过大（文本过长）")
            return value
        if kind is dict:
            return self._mapping(value, path, depth)
        if kind is list:
            return self._sequence(value, path, depth)
        return self._other(value, path, depth)

    def _mapping(self, value: dict[Any, Any], path: Path | str, depth: int) -> dict[str, Any]:
        if depth >= MAX_DATA_DEPTH:
            raise self.error(f"数据嵌套过深（超过 {MAX_DATA_DEPTH} 层）：{_render(path)}")
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str and not isinstance(key, str):
                raise self.error(f"变量 {_render(path)} 的键 {_short(repr(key))} 不是字符串")
            if key == RESERVED_DATA_KEY:
                raise self.error(f"变量名 {RESERVED_DATA_KEY} 为系统保留，不能使用（{_render(path)}）")
            out[key] = self(item, (path, key), depth + 1)
        return out

    def _sequence(self, value: Any, path: Path | str, depth: int) -> list[Any]:
        if depth >= MAX_DATA_DEPTH:
            raise self.error(f"数据嵌套过深（超过 {MAX_DATA_DEPTH} 层）：{_render(path)}")
        return [self(item, (path, i), depth + 1) for i, item in enumerate(value)]

    def _other(self, value: Any, path: Path | str, depth: int) -> Any:
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if isinstance(value, str):
            return self(str(value), path, depth)
        # timeDate expressions read these variables; SpiffWorkflow needs ISO text, not objects.
        if isinstance(value, (datetime, date)):
            return value.isoformat() if self.instants_as_text else value
        if isinstance(value, dict):
            return self._mapping(value, path, depth)
        if isinstance(value, _SEQUENCE_TYPES):
            return self._sequence(value, path, depth)
        raise self.error(f"变量 {_render(path)} 的值类型 {type(value).__name__} 无法保存")


def _render(path: Path | str) -> str:
    """Spell a path as `a.b[2].c` (iteratively: it may be MAX_DATA_DEPTH steps long)."""
    steps: list[str] = []
    while isinstance(path, tuple):
        path, step = path
        steps.append(f"[{step}]" if isinstance(step, int) else f".{step}")
    return _short(path + "".join(reversed(steps)))


def _short(text: str, limit: int = 120) -> str:
    """Cut a path or key for a message: a hostile one may be megabytes long."""
    return text if len(text) <= limit else text[:limit] + "…"


def harvest(namespace: dict[str, Any], context: dict[str, Any],
            external_context: dict[str, Any] | None) -> dict[str, Any]:
    """Return the task data a finished script leaves: its variables, minus functions and our globals."""
    harvested = {}
    for key, value in namespace.items():
        if key in INJECTED or (external_context and key in external_context):
            if key in context:
                harvested[key] = context[key]
            continue
        # Functions and modules are not data (SpiffWorkflow drops them the same way).
        if callable(value) or isinstance(value, ModuleType):
            continue
        harvested[key] = value
    return harvested


def namespace_for(context: dict[str, Any], external_context: dict[str, Any] | None) -> dict[str, Any]:
    """Build the globals a script or expression runs with: task data, then ours (not shadowable)."""
    namespace = dict(context)
    namespace.update(external_context or {})
    namespace.update(GLOBALS)
    return namespace
