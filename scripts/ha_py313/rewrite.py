"""Source rewrites that let a Home Assistant written for Python 3.14 import on 3.13.

Each rewrite turns a 3.14-only construct into the 3.13 spelling of the same
meaning; none changes what the code does:

- PEP 758 `except A, B:` (no parentheses) becomes `except (A, B):`;
- PEP 649 deferred annotations: a module without `from __future__ import
  annotations` gets it (what Home Assistant itself did up to 2026.2), so
  annotations naming later or type-checking-only names are not evaluated;
- `annotationlib` (3.14 standard library) is imported from
  `typing_extensions`, which offers the same `Format` and `get_annotations`
  (Home Assistant 2026.2's own fallback on 3.13);
- `inspect.signature(..., annotation_format=...)` loses that keyword: with
  the future import, annotations are strings that `inspect` leaves as they are,
  which is what the keyword asked for;
- a class given annotations through `cls.__annotate__ = f` (which 3.13
  does not read) gets them as `cls.__annotations__ = f(Format.FORWARDREF)`
  (which it does): Home Assistant's entity descriptions without fields of
  their own otherwise lose their parents' fields;
- Home Assistant's check that a deprecated entity member is annotated
  `Final` (which refuses the string the future import makes of it) reads the
  string "Final" as `Final`.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

type Rewrite = Callable[[str], tuple[str, int]]
"""A rewrite of a module's source: the new source and how many places it changed."""

FUTURE_IMPORT = "from __future__ import annotations"


@dataclass
class Rewritten:
    """A module's source after the rewrites, with what they changed."""

    source: str
    changes: list[str] = field(default_factory=list)


def parenthesize_except(source: str) -> tuple[str, int]:
    """Wrap the exception types of each `except A, B:` clause in parentheses.

    Token-based, so strings and comments that read like an except clause are
    left alone. Returns the new source and the number of clauses changed.
    """
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    spans: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for index, token in enumerate(tokens):
        if token.type != tokenize.NAME or token.string != "except":
            continue
        span = _bare_tuple_after(tokens, index + 1)
        if span is not None:
            spans.append(span)
    if not spans:
        return source, 0
    lines = source.splitlines(keepends=True)
    for start, end in reversed(spans):  # from the end, so earlier positions stay valid
        _insert(lines, end, ")")
        _insert(lines, start, "(")
    return "".join(lines), len(spans)


def _bare_tuple_after(
    tokens: list[tokenize.TokenInfo], index: int
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The span of an unparenthesized tuple of types starting at `index`, if there is one."""
    if index < len(tokens) and tokens[index].type == tokenize.OP and tokens[index].string == "*":
        index += 1  # except* A, B:
    depth = 0
    first: tokenize.TokenInfo | None = None
    last: tokenize.TokenInfo | None = None
    top_level_comma = False
    for token in tokens[index:]:
        if token.type in {tokenize.NL, tokenize.COMMENT}:
            continue
        if depth == 0 and (
            (token.type == tokenize.OP and token.string == ":")
            or (token.type == tokenize.NAME and token.string == "as")
        ):
            break
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
        elif depth == 0 and token.type == tokenize.OP and token.string == ",":
            top_level_comma = True
        first = first or token
        last = token
    if not top_level_comma or first is None or last is None:
        return None
    return first.start, last.end


def _insert(lines: list[str], position: tuple[int, int], text: str) -> None:
    row, column = position
    line = lines[row - 1]
    lines[row - 1] = line[:column] + text + line[column:]


def add_future_annotations(source: str) -> tuple[str, bool]:
    """Add `from __future__ import annotations` where a module lacks it.

    It goes right after the module's docstring (before any other statement,
    as Python requires). Returns the new source and whether it changed.
    """
    module = ast.parse(source)
    for node in module.body:
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "__future__"
            and any(alias.name == "annotations" for alias in node.names)
        ):
            return source, False
    body = module.body
    has_docstring = (
        bool(body)
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    )
    lines = source.splitlines(keepends=True)
    if has_docstring:
        at = body[0].end_lineno or 0
    elif body:
        at = body[0].lineno - 1
        while at > 0 and lines[at - 1].startswith("@"):  # decorators come before the line ast names
            at -= 1
    else:
        at = len(lines)
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    lines.insert(at, FUTURE_IMPORT + "\n")
    return "".join(lines), True


_ANNOTATIONLIB = re.compile(r"^(\s*)from annotationlib import ", re.MULTILINE)
_ANNOTATION_FORMAT = re.compile(r",\s*annotation_format=[\w.]+")
_FINAL_LOOKUP = re.compile(
    r"^(?P<indent>[ \t]*)(?P<name>\w+) = get_annotations\(owner, format=Format\.FORWARDREF\)\.get\(name\)\n",
    re.MULTILINE,
)


def import_annotationlib_from_typing_extensions(source: str) -> tuple[str, int]:
    """Import `annotationlib`'s names from `typing_extensions`; returns the count of imports changed."""
    return _ANNOTATIONLIB.subn(r"\1from typing_extensions import ", source)


def drop_annotation_format(source: str) -> tuple[str, int]:
    """Drop the 3.14-only `annotation_format=` keyword of `inspect.signature` calls."""
    if "inspect.signature" not in source and "signature(" not in source:
        return source, 0
    return _ANNOTATION_FORMAT.subn("", source)


def accept_stringized_final(source: str) -> tuple[str, int]:
    """Let the deprecated-member check take the annotation string "Final" for `Final`."""
    if "must be annotated Final" not in source:
        return source, 0
    return _FINAL_LOOKUP.subn(
        r"\g<0>\g<indent>if \g<name> == 'Final':  # a string since the future import\n"
        r"\g<indent>    \g<name> = Final\n",
        source,
    )


_SET_ANNOTATE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<target>[\w.]+)\.__annotate__ = (?P<function>\w+)$", re.MULTILINE
)


def annotations_for_annotate(source: str) -> tuple[str, int]:
    """Turn `x.__annotate__ = f` (3.14's lazy annotations) into `x.__annotations__ = f(Format.FORWARDREF)`."""
    return _SET_ANNOTATE.subn(
        r"\g<indent>\g<target>.__annotations__ = \g<function>(Format.FORWARDREF)", source
    )


EVERY_MODULE: tuple[tuple[Rewrite, str], ...] = (
    (parenthesize_except, "parenthesized {} except clause(s)"),
    (import_annotationlib_from_typing_extensions, "annotationlib from typing_extensions"),
    (drop_annotation_format, "dropped annotation_format= ({})"),
)
"""The rewrites every module gets, each with what it reports when it changed something."""
ANNOTATED_MODULES: tuple[tuple[Rewrite, str], ...] = (
    (annotations_for_annotate, "set __annotations__ for __annotate__ ({})"),
    (accept_stringized_final, "read the string 'Final' as Final"),
    (add_future_annotations, "added the annotations future import"),
)
"""The rewrites of the modules that get the annotations future import (their annotations stay strings)."""


def rewrite_module(source: str, *, add_future: bool) -> Rewritten:
    """Every rewrite a module needs (`add_future`: give it the future import if it lacks it)."""
    result = Rewritten(source)
    for rewrite, report in EVERY_MODULE + (ANNOTATED_MODULES if add_future else ()):
        result.source, count = rewrite(result.source)
        if count:
            result.changes.append(report.format(count))
    return result
