"""The sandbox phrasing templates render in: user-written Jinja2 over plain values only.

Beyond Jinja's immutable sandbox: a small grammar (no set/with/macro/include/import, no calls but
range(), loops nested at most twice), capped range(), string repetition and output, few filters,
no globals. A variable with no value renders as a visible marker (【缺少：name】), never as blank,
and a text still holding a marker must not be sent (find_missing). Template errors are InvalidInput
(TemplateProblem) with the line number: never a 500, never a hang.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import ChainableUndefined, nodes
from jinja2 import filters as jf
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from app.errors import InvalidInput
from app.i18n import N_

MAX_SOURCE_CHARS = 2000  # a template body; longer is refused at save and at render
MAX_OUTPUT_CHARS = 4000  # a rendered message
MAX_RANGE = 100
MAX_LOOP_DEPTH = 2
MAX_INT_BITS = 256
MAX_EXPONENT = 64
MISSING_RE = re.compile(r"【缺少：([^】]{1,64})】")


def marker(name: str) -> str:
    return f"【缺少：{name}】"


class TemplateProblem(InvalidInput):
    """A template that cannot compile or render; `line` is its line number (0 when unknown)."""

    def __init__(self, message: str, *, line: int = 0, **params: Any) -> None:
        super().__init__(
            message, fields={"body": f"line {line}" if line else "template"}, line=line, **params
        )
        self.line = line


class MissingValue(ChainableUndefined):
    """A variable (or attribute) without a value: renders as a marker the sender must fill in.

    An undefined produced by the sandbox refusing an attribute raises instead."""

    __slots__ = ()

    def _refused(self) -> bool:
        return isinstance(self._undefined_exception, type) and issubclass(
            self._undefined_exception, SecurityError
        )

    def __str__(self) -> str:
        if self._refused():
            self._fail_with_undefined_error()
        return marker(str(self._undefined_name or "?"))

    def __iter__(self):  # type: ignore[override]
        if self._refused():
            self._fail_with_undefined_error()
        return iter(())


def _safe_range(*args: int) -> range:
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise SecurityError(f"range() is limited to {MAX_RANGE} items")
    return values


def _safe_replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    text, old, new = str(value), str(old), str(new)
    times = text.count(old) if old else len(text) + 1
    if count is not None:
        times = min(times, max(int(count), 0))
    if len(text) + times * (len(new) - len(old)) > MAX_OUTPUT_CHARS:
        raise SecurityError("replace() would make the text too long")
    return text.replace(old, new, -1 if count is None else max(int(count), 0))


FILTERS: dict[str, Any] = {
    "default": jf.do_default,
    "d": jf.do_default,
    "upper": jf.do_upper,
    "lower": jf.do_lower,
    "capitalize": jf.do_capitalize,
    "title": jf.do_title,
    "trim": jf.do_trim,
    "truncate": jf.do_truncate,
    "replace": _safe_replace,
    "length": len,
    "count": len,
    "first": jf.do_first,
    "last": jf.do_last,
    "join": jf.do_join,
    "round": jf.do_round,
    "int": jf.do_int,
    "string": jf.soft_str,
    "abs": abs,
    "sum": jf.do_sum,
    "map": jf.do_map,
}


def _too_long(left: Any, right: Any) -> bool:
    sequences = isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple)
    return sequences and len(left) + len(right) > MAX_OUTPUT_CHARS


class PhrasingEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if not isinstance(right, int) or abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponents are limited to {MAX_EXPONENT}")
            if isinstance(left, int) and left.bit_length() > MAX_INT_BITS:
                raise SecurityError("the number is too large")
        elif operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_OUTPUT_CHARS
                ):
                    raise SecurityError("repetition would make the text too long")
        elif operator == "%" and isinstance(left, str):
            raise SecurityError("% formatting of text is not allowed")
        elif operator == "+" and _too_long(left, right):
            raise SecurityError("the text is too long")
        return super().call_binop(context, operator, left, right)


_env = PhrasingEnvironment(undefined=MissingValue, autoescape=False, keep_trailing_newline=False)
_env.filters = dict(FILTERS)
_env.globals = {"range": _safe_range}

_ALLOWED = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Slice,
    nodes.Filter,
    nodes.Test,
    nodes.If,
    nodes.For,
    nodes.CondExpr,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Neg,
    nodes.Pos,
    nodes.Compare,
    nodes.Operand,
    nodes.Concat,
    nodes.Add,
    nodes.Sub,
    nodes.Mul,
    nodes.Div,
    nodes.FloorDiv,
    nodes.Mod,
    nodes.Pow,
    nodes.List,
    nodes.Tuple,
    nodes.Dict,
    nodes.Pair,
    nodes.Keyword,
    nodes.Call,
)
_TAGS = {
    nodes.Assign: "set",
    nodes.AssignBlock: "set",
    nodes.With: "with",
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from … import",
    nodes.Extends: "extends",
    nodes.Block: "block",
    nodes.FilterBlock: "filter",
}

_RESERVED_NAMES = frozenset({"self", "caller", "super", "varargs", "kwargs"})


def _validate(node: nodes.Node, loops: int = 0) -> None:
    line = getattr(node, "lineno", 0) or 0
    if not isinstance(node, _ALLOWED):
        tag = next((name for kind, name in _TAGS.items() if isinstance(node, kind)), type(node).__name__)
        raise TemplateProblem(
            N_("Line {line}: the {tag} tag is not allowed in a phrasing template."), line=line, tag=tag
        )
    if isinstance(node, nodes.For):
        if node.recursive:
            raise TemplateProblem(N_("Line {line}: recursive loops are not allowed."), line=line)
        loops += 1
        if loops > MAX_LOOP_DEPTH:
            raise TemplateProblem(
                N_("Line {line}: loops can be nested at most {max} deep."), line=line, max=MAX_LOOP_DEPTH
            )
    if isinstance(node, nodes.Name) and node.name in _RESERVED_NAMES:
        raise TemplateProblem(
            N_("Line {line}: {name} cannot be used in a phrasing template."), line=line, name=node.name
        )
    if isinstance(node, nodes.Call):
        plain = isinstance(node.node, nodes.Name) and node.node.name == "range"
        if not plain or node.dyn_args is not None or node.dyn_kwargs is not None or node.kwargs:
            raise TemplateProblem(
                N_("Line {line}: only range() can be called in a phrasing template."), line=line
            )
    for child in node.iter_child_nodes():
        _validate(child, loops)


def parse_source(source: str) -> nodes.Template:
    """The checked syntax tree of a template body (TemplateProblem when it is not acceptable)."""
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateProblem(N_("The template is longer than {max} characters."), max=MAX_SOURCE_CHARS)
    try:
        tree = _env.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(
            N_("Line {line}: syntax error ({error})."), line=exc.lineno or 0, error=exc.message or "invalid"
        ) from exc
    _validate(tree)
    return tree


@lru_cache(maxsize=512)
def compile_source(source: str) -> jinja2.Template:
    tree = parse_source(source)
    try:
        return _env.from_string(tree)
    except jinja2.TemplateError as exc:  # an unknown filter or test, found when compiling
        raise TemplateProblem(
            N_("Line {line}: {error}."),
            line=getattr(exc, "lineno", 0) or 0,
            error=str(exc.message or exc).rstrip("."),
        ) from exc


def _template_line(exc: BaseException) -> int:
    line, tb = 0, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render_source(source: str, context: dict[str, Any]) -> tuple[str, list[str]]:
    """(text, missing variable names). The output is bounded while it is produced."""
    template = compile_source(source)
    chunks: list[str] = []
    size = 0
    try:
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateProblem(
                    N_("The rendered message is longer than {max} characters."), max=MAX_OUTPUT_CHARS
                )
            chunks.append(chunk)
    except TemplateProblem:
        raise
    except SecurityError as exc:
        raise TemplateProblem(
            N_("Line {line}: not allowed in a phrasing template ({error})."),
            line=_template_line(exc),
            error=str(exc),
        ) from exc
    except Exception as exc:  # noqa: BLE001 - any failure of a user-written template is bad input
        raise TemplateProblem(
            N_("Line {line}: the template cannot be rendered ({error})."),
            line=_template_line(exc),
            error=f"{type(exc).__name__}: {exc}"[:200],
        ) from exc
    text = "".join(chunks).strip()
    return text, find_missing(text)


def find_missing(text: str) -> list[str]:
    """The variable names whose markers are still in `text` (each once, in order)."""
    # Lower-cased: a marker passed through |upper is still the same variable.
    return list(dict.fromkeys(name.lower() for name in MISSING_RE.findall(text or "")))


def split_missing(text: str) -> list[tuple[str, bool]]:
    """`text` as (segment, is_marker) pairs, so a page can highlight the gaps."""
    parts: list[tuple[str, bool]] = []
    position = 0
    for match in MISSING_RE.finditer(text or ""):
        if match.start() > position:
            parts.append((text[position : match.start()], False))
        parts.append((match.group(0), True))
        position = match.end()
    if position < len(text or ""):
        parts.append((text[position:], False))
    return parts
