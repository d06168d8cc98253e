"""Fill ``{column}`` templates from data safely: field names only, never code.

Popup templates (``popup: "{name}（{定員}人）"``) are written by users and the
values come from data files and OSM tags. ``str.format`` would be the obvious
tool, but on a user template it also does attribute and index access
(``{name.__class__}``, ``{name[x]}``) and format specs, which either leak
internals or crash the build. Here a field is the exact text between braces
and names a column (so ``{name:en}`` is the OSM ``name:en`` column), ``{{`` and
``}}`` are literal braces, and values are inserted as text, once, with no
further interpretation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class TemplateError(ValueError):
    """A template with an unmatched brace or an empty field."""


def template_fields(template: str) -> list[str]:
    """The column names a template uses, in order.

    Raises
    ------
    TemplateError
        An unmatched ``{`` or ``}``, or an empty ``{}``.
    """
    fields = []
    for m in _TOKEN.finditer(template):
        tok = m.group(0)
        if tok in ("{{", "}}"):
            continue
        if m.group(1) is None:
            raise TemplateError(
                f"unmatched {tok!r} at character {m.start() + 1}; "
                "write {{ or }} for a literal brace"
            )
        if not m.group(1).strip():
            raise TemplateError(f"empty field {{}} at character {m.start() + 1}; name a column")
        fields.append(m.group(1).strip())
    return fields


def fill_template(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{column}`` replaced by ``values[column]`` ("" when absent).

    Raises
    ------
    TemplateError
        See :func:`template_fields`.
    """
    template_fields(template)  # validate first: no half-filled output

    def one(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok == "{{":
            return "{"
        if tok == "}}":
            return "}"
        return str(values.get(m.group(1).strip(), "") or "")

    return _TOKEN.sub(one, template)
