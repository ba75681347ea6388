"""Camunda 7 JUEL expressions (`${…}` / `#{…}`) translated at deploy into Python for our sandbox.

A small tokenizer and recursive-descent parser for the common subset; nothing is evaluated here and
no text is rewritten by pattern: the output is rendered from the parsed tree, so it holds only names,
literals (rendered with repr), operators, and `.get('key')` for property access. The Python then goes
through the same restricted compilation and sandbox as any expression written in Python.

The subset and its Python:

- identifiers (process variables) → the same name; `execution.getVariable('x')` → `x`. A variable
  that is not set reads as null (None): a form field left blank stores no value here, where Camunda
  stores null, so `${empty approver}` must hold for it. The translated text starts with a comment line
  naming the variables it reads (`# JUEL null if unset: a b`); the script engine gives each one that is
  unset the value None for that evaluation (`unset_as_null`). A comparison of null with a number is
  an error, not false as in JUEL (which counts null as 0);
- `a.b`, `a['b']`, `a["b"]` → `(a or {}).get('b')`: a missing key, or a property of null, is null
  (JUEL's map resolver); `a[expr]` with any other index → `a[expr]` (a list index, a computed key);
- literals: integers, decimals, 'strings' and "strings" (escapes \\' \\" \\\\), true, false, null;
- `==` `!=` `<` `>` `<=` `>=` and `eq ne lt gt le ge`; `&&`/`and`, `||`/`or`, `!`/`not`;
  `empty x` (null, '', empty list or map → true; 0 and false are not empty);
- `+ - * / %` and `div`/`mod` (`/` and `div` divide exactly: 7 / 2 is 3.5), unary minus;
  parentheses; `a ? b : c` → `(b if a else c)`.

Unlike JUEL, nothing is coerced: '5' == 5 is false and 'a' + 1 an error; `%` of a negative number
follows Python's sign rule. Anything else (other method or function calls, lambdas, assignments,
`${a}${b}`, text around the `${…}`, map/list literals, `instanceof`) raises JuelRefused with the
reason in Chinese.
"""

from __future__ import annotations

import keyword
import math
from dataclasses import dataclass
from typing import Any

# A condition a person writes is a line; this bounds the work of a hostile file.
MAX_SOURCE_CHARS = 2000
MAX_DEPTH = 50
MAX_TREE_DEPTH = 100
_QUOTE_CHARS = 60

_KEYWORDS = frozenset({"and", "or", "not", "eq", "ne", "lt", "gt", "le", "ge", "true", "false", "null",
                       "empty", "div", "mod", "instanceof"})
_WORD_OPERATORS = {"and": "&&", "or": "||", "not": "!", "eq": "==", "ne": "!=", "lt": "<", "gt": ">",
                   "le": "<=", "ge": ">=", "div": "/", "mod": "%"}
_SYMBOLS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "%", "?", ":", "(", ")",
            "[", "]", ".", ",")
# Operators of EL 3.0 and other languages, named in the refusal.
_REFUSED_SYMBOLS = {"=": "赋值", "+=": "字符串拼接（+=）", "->": "lambda 表达式", ";": "分号（多条表达式）",
                    "{": "集合或映射字面量", "&": "按位运算", "|": "按位运算"}


class JuelRefused(Exception):
    """The expression is outside the subset; `reason` says why, in Chinese."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def quote(text: str) -> str:
    """Return the expression as a message quotes it: one line, cut to a bounded length."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _QUOTE_CHARS else flat[:_QUOTE_CHARS] + "…"


def is_juel(text: str | None) -> bool:
    """Return whether the text holds a `${` or `#{` (a JUEL expression, translatable or not)."""
    return bool(text) and ("${" in text or "#{" in text)  # type: ignore[operator]


# First line of a translated expression: the variables it reads, None when unset (see unset_as_null).
NULL_IF_UNSET = "# JUEL null if unset:"


@dataclass(frozen=True)
class Translation:
    """A JUEL expression in Python: the expression and the variables it reads (in order of first use)."""

    python: str
    names: tuple[str, ...]

    @property
    def text(self) -> str:
        """The text that replaces the JUEL in the parsed file: the names line, then the expression."""
        if not self.names:
            return self.python
        return f"{NULL_IF_UNSET} {' '.join(self.names)}\n{self.python}"


def translate(text: str) -> Translation:
    """Translate a text that is exactly one `${…}` / `#{…}` into Python; raise JuelRefused."""
    node = _parse(text)
    names: dict[str, None] = {}
    stack = [node]
    while stack:
        current = stack.pop()
        if current.kind == "name":
            names.setdefault(current.value)
        stack.extend(reversed(current.children))
    return Translation(_render(node, top=True), tuple(names))


def unset_as_null(expression: str, data: dict[str, Any], external: dict[str, Any] | None
                  ) -> dict[str, Any] | None:
    """Return the external context to evaluate a translated expression with: its unset variables as None.

    An expression without the names line (plain Python) is returned its context unchanged. The names
    only ever add None for what neither the task data nor the context holds; our globals still take
    precedence over both in the sandbox's namespace.
    """
    if not expression.startswith(NULL_IF_UNSET):
        return external
    line = expression[len(NULL_IF_UNSET):].split("\n", 1)[0]
    missing = [name for name in line.split() if name.isidentifier() and not name.startswith("_")
               and name not in data and (external is None or name not in external)]
    if not missing:
        return external
    return {**(external or {}), **dict.fromkeys(missing)}


def bare_variable(text: str) -> str | None:
    """Return `name` for a text that is exactly `${name}` (a collection, an assignee), else None."""
    try:
        node = _parse(text)
    except JuelRefused:
        return None
    return node.value if node.kind == "name" else None


# --------------------------------------------------------------------------------------------
# Tokens


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "str", "ident", "op", "end"
    value: Any
    text: str


def _tokens(source: str, start: int) -> tuple[list[_Token], int]:
    """Tokenize from `start` up to the `}` closing the expression; return the tokens and its index."""
    out: list[_Token] = []
    i, n = start, len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "}":
            out.append(_Token("end", None, "}"))
            return out, i
        if ch.isdigit() or (ch == "." and i + 1 < n and source[i + 1].isdigit()):
            j = i
            while j < n and source[j].isdigit():
                j += 1
            floating = False
            if j < n and source[j] == "." and not (j + 1 < n and source[j + 1].isalpha()):
                floating = True
                j += 1
                while j < n and source[j].isdigit():
                    j += 1
            if j < n and source[j] in "eE":
                k = j + 1
                if k < n and source[k] in "+-":
                    k += 1
                if k < n and source[k].isdigit():
                    floating = True
                    j = k
                    while j < n and source[j].isdigit():
                        j += 1
            literal = source[i:j]
            if floating:
                value: Any = float(literal)
                if not math.isfinite(value):
                    raise JuelRefused(f"数值 {quote(literal)} 超出范围")
            else:
                value = int(literal)
                if value > 2**63 - 1:
                    raise JuelRefused(f"整数 {quote(literal)} 超出范围")
            out.append(_Token("num", value, literal))
            i = j
            continue
        if ch in "'\"":
            value, i = _string(source, i)
            out.append(_Token("str", value, repr(value)))
            continue
        if ch.isalpha() or ch in "_$":
            j = i + 1
            while j < n and (source[j].isalnum() or source[j] in "_$"):
                j += 1
            word = source[i:j]
            out.append(_Token("op" if word in _KEYWORDS else "ident", word, word))
            i = j
            continue
        for symbol in ("+=", "->"):
            if source.startswith(symbol, i):
                raise JuelRefused(f"不支持{_REFUSED_SYMBOLS[symbol]}")
        symbol = next((s for s in _SYMBOLS if source.startswith(s, i)), None)
        if symbol is None:
            if ch in _REFUSED_SYMBOLS:
                raise JuelRefused(f"不支持{_REFUSED_SYMBOLS[ch]}（“{ch}”）")
            raise JuelRefused(f"不支持的字符“{ch}”")
        out.append(_Token("op", symbol, symbol))
        i += len(symbol)
    raise JuelRefused("缺少结尾的“}”")


def _string(source: str, i: int) -> tuple[str, int]:
    quote_char = source[i]
    chars: list[str] = []
    j = i + 1
    while j < len(source):
        ch = source[j]
        if ch == "\\":
            following = source[j + 1] if j + 1 < len(source) else ""
            if following not in ("'", '"', "\\"):
                raise JuelRefused(f"字符串中的转义“\\{following}”无效（只能是 \\' \\\" \\\\）")
            chars.append(following)
            j += 2
            continue
        if ch == quote_char:
            return "".join(chars), j + 1
        chars.append(ch)
        j += 1
    raise JuelRefused("字符串缺少结尾的引号")


# --------------------------------------------------------------------------------------------
# Parser (EL precedence, loosest first)


@dataclass(frozen=True)
class _Node:
    kind: str  # "name", "literal", "binary", "not", "neg", "empty", "choice", "property", "index"
    value: Any = None
    children: tuple[_Node, ...] = ()


_OR, _AND = ("||",), ("&&",)
_EQUALITY = ("==", "!=")
_RELATIONAL = ("<", ">", "<=", ">=")
_ADDITIVE = ("+", "-")
_MULTIPLICATIVE = ("*", "/", "%")


def _parse(text: str) -> _Node:
    source = text.strip()
    if len(source) > MAX_SOURCE_CHARS:
        raise JuelRefused(f"表达式过长（超过 {MAX_SOURCE_CHARS} 个字符）")
    if not source.startswith(("${", "#{")):
        if is_juel(source):
            raise JuelRefused("${…} 前面还有其他文字：只支持整段写成一个 ${…}")
        raise JuelRefused("不是 ${…} 或 #{…} 表达式")
    tokens, end = _tokens(source, 2)
    rest = source[end + 1:].strip()
    if rest:
        raise JuelRefused("${…} 后面还有其他内容（拼接多个 ${…} 或混有文字）：只支持整段写成一个 ${…}")
    parser = _Parser(tokens)
    node = parser.expression()
    if _depth(node) > MAX_TREE_DEPTH:
        # Long chains (a.b.c…, a + b + c…) nest without recursing in the parser; rendering recurses.
        raise JuelRefused("表达式嵌套过深")
    if parser.peek().value == "instanceof":
        raise JuelRefused("不支持 instanceof")
    if parser.peek().kind != "end":
        raise JuelRefused(f"无法识别“{parser.peek().text}”附近的写法")
    return node


def _depth(node: _Node) -> int:
    deepest = 0
    stack = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in current.children)
    return deepest


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self, ahead: int = 0) -> _Token:
        index = min(self.pos + ahead, len(self.tokens) - 1)
        return self.tokens[index]

    def take(self) -> _Token:
        token = self.peek()
        if token.kind != "end":
            self.pos += 1
        return token

    def op(self) -> str | None:
        token = self.peek()
        if token.kind != "op":
            return None
        return _WORD_OPERATORS.get(token.value, token.value)

    def expect(self, symbol: str) -> None:
        token = self.take()
        if token.kind != "op" or token.value != symbol:
            found = "表达式结尾" if token.kind == "end" else f"“{token.text}”"
            raise JuelRefused(f"此处应为“{symbol}”，实际为{found}")

    def expression(self) -> _Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise JuelRefused("表达式嵌套过深")
        try:
            condition = self.binary(0)
            if self.op() == "?":
                self.take()
                then = self.expression()
                self.expect(":")
                otherwise = self.expression()
                return _Node("choice", None, (condition, then, otherwise))
            return condition
        finally:
            self.depth -= 1

    _LEVELS = (_OR, _AND, _EQUALITY, _RELATIONAL, _ADDITIVE, _MULTIPLICATIVE)

    def binary(self, level: int) -> _Node:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while (symbol := self.op()) in self._LEVELS[level]:
            self.take()
            right = self.binary(level + 1)
            left = _Node("binary", symbol, (left, right))
        return left

    def unary(self) -> _Node:
        token = self.peek()
        if token.kind == "op" and token.value in ("-", "!", "not", "empty"):
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise JuelRefused("表达式嵌套过深")
            try:
                operand = self.unary()
            finally:
                self.depth -= 1
            kind = {"-": "neg", "!": "not", "not": "not", "empty": "empty"}[token.value]
            return _Node(kind, None, (operand,))
        return self.value()

    def value(self) -> _Node:
        node = self.primary()
        while True:
            symbol = self.op()
            if symbol == ".":
                self.take()
                name = self.take()
                if name.kind not in ("ident", "op") or not isinstance(name.value, str) \
                        or not (name.value[0].isalpha() or name.value[0] in "_$"):
                    raise JuelRefused("“.” 后应为属性名")
                if self.op() == "(":
                    raise _call_refused(f"{name.value}(…)")
                node = _Node("property", name.value, (node,))
            elif symbol == "[":
                self.take()
                index = self.expression()
                self.expect("]")
                if index.kind == "literal" and isinstance(index.value, str):
                    node = _Node("property", index.value, (node,))
                else:
                    node = _Node("index", None, (node, index))
            elif symbol == "(":
                raise _call_refused(f"{node.value if node.kind == 'name' else ''}(…)")
            else:
                return node

    def primary(self) -> _Node:
        token = self.take()
        if token.kind in ("num", "str"):
            return _Node("literal", token.value)
        if token.kind == "op" and token.value in ("true", "false", "null"):
            return _Node("literal", {"true": True, "false": False, "null": None}[token.value])
        if token.kind == "op" and token.value == "(":
            node = self.expression()
            self.expect(")")
            return node
        if token.kind == "ident":
            if token.value == "execution":
                return self.execution()
            if self.op() == ":":
                raise JuelRefused(f"不支持函数调用（{token.value}:…）")
            return _Node("name", _variable(token.value))
        if token.kind == "end":
            raise JuelRefused("表达式不完整")
        if token.kind == "op" and token.value == "instanceof":
            raise JuelRefused("不支持 instanceof")
        raise JuelRefused(f"无法识别“{token.text}”附近的写法")

    def execution(self) -> _Node:
        """`execution.getVariable('x')` → the variable x; any other use of Camunda's execution is refused."""
        if self.op() == "." and self.peek(1).value == "getVariable" and self.peek(2).value == "(" \
                and self.peek(3).kind == "str" and self.peek(4).value == ")":
            name = self.peek(3).value
            self.pos += 5
            return _Node("name", _variable(name))
        follows = self.peek(1).value if self.op() == "." else ""
        raise JuelRefused(f"不支持 Camunda 的 execution 对象（execution.{follows or '…'}）；"
                          "读取变量请直接写变量名，或写 execution.getVariable('变量名')")


def _call_refused(what: str) -> JuelRefused:
    return JuelRefused(f"不支持方法或函数调用（{what}）；唯一例外是 execution.getVariable('变量名')")


def _variable(name: str) -> str:
    if "$" in name:
        raise JuelRefused(f"变量名“{name}”含 $，不能用作流程变量名")
    if not name.isidentifier():
        raise JuelRefused(f"“{quote(name)}”不是有效的变量名")
    if keyword.iskeyword(name):
        raise JuelRefused(f"变量名“{name}”是 Python 关键字，不能在表达式中使用")
    if name.startswith("_"):
        raise JuelRefused(f"变量名“{name}”以下划线开头，沙箱中不可用")
    return name


# --------------------------------------------------------------------------------------------
# Python


_PY_OPERATORS = {"||": "or", "&&": "and", "==": "==", "!=": "!=", "<": "<", ">": ">", "<=": "<=",
                 ">=": ">=", "+": "+", "-": "-", "*": "*", "/": "/", "%": "%"}


_NULL = _Node("literal", None)


def _render(node: _Node, top: bool = False) -> str:
    text = _python(node)
    if top and text.startswith("(") and _closes_at_end(text):
        return text[1:-1]
    return text


def _closes_at_end(text: str) -> bool:
    """Whether the parenthesis opening `text` closes at its very end (strings taken into account)."""
    depth = 0
    quote_char: str | None = None
    escaped = False
    for i, ch in enumerate(text):
        if quote_char is not None:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote_char:
                quote_char = None
            continue
        if ch in "'\"":
            quote_char = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
    return False


def _python(node: _Node) -> str:
    kind = node.kind
    if kind == "name":
        return str(node.value)
    if kind == "literal":
        return repr(node.value)
    if kind == "binary":
        left, right = (_python(child) for child in node.children)
        operator = _PY_OPERATORS[node.value]
        if node.value in ("==", "!=") and _NULL in node.children:
            # `x == null` reads as Python's identity test with None (the form the fast path answers).
            operator = "is" if node.value == "==" else "is not"
        return f"({left} {operator} {right})"
    if kind == "not":
        return f"(not {_python(node.children[0])})"
    if kind == "neg":
        return f"(-{_python(node.children[0])})"
    if kind == "empty":
        # JUEL: null, '' and empty collections are empty; 0 and false are not. A name or literal is
        # repeated (the form the in-process fast path answers); anything longer is evaluated once.
        child = node.children[0]
        operand = _python(child)
        if child.kind in ("name", "literal"):
            return f"(not {operand} and {operand} is not False and {operand} != 0)"
        return f"({operand} in (None, '', [], {{}}))"
    if kind == "choice":
        condition, then, otherwise = (_python(child) for child in node.children)
        return f"({then} if {condition} else {otherwise})"
    if kind == "property":
        return f"({_python(node.children[0])} or {{}}).get({node.value!r})"
    if kind == "index":
        base, index = (_python(child) for child in node.children)
        return f"{base}[{index}]"
    raise AssertionError(kind)
