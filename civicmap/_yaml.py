"""Reading the YAML files users write (maps and layers), safely and fast.

Map and layer files come from anyone (a workshop handout, a shared folder), so
reading one must not be a way to exhaust the machine:

- the file is refused above ``settings.yaml_max_bytes`` before it is read;
- the libyaml C loader (``yaml.CSafeLoader``) is used when PyYAML was built
  with it: an 8 MB list loads in about a second instead of minutes;
- aliases are counted on the composed node graph *before* any Python object
  is built: a "billion laughs" file (anchors that refer to anchors) has a tiny
  graph but an expanded size of billions of nodes, and every later step that
  walks or prints the value (validators, messages) would pay that size.
  A document whose expanded size exceeds its own size by more than
  ``settings.yaml_max_alias_nodes`` (or that refers to itself) is refused;
- syntax errors name the line and column, and a tab says "use spaces".

:func:`excerpt` is the one way validators quote a value in a message: a
short, bounded ``repr`` that never walks or prints a whole large value.
"""

from __future__ import annotations

import reprlib
from pathlib import Path
from typing import Any

import yaml

from civicmap import settings
from civicmap.errors import ConfigError, Problem
from civicmap.i18n import _

#: The loader class used: libyaml's C loader when PyYAML was built with it.
LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Deepest nesting accepted; real map and layer files stay under 10 levels.
MAX_DEPTH = 100

_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6


def excerpt(value: Any, limit: int = 80) -> str:
    """A short ``repr`` of ``value`` for an error message, at most ``limit`` characters.

    Why: a validator that echoes ``{value!r}`` prints the whole value; for a
    large list (or a value built from aliases) that is megabytes of message.
    ``reprlib`` stops after a few items and levels, so this costs the same for
    any size of value.
    """
    text = _REPR.repr(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def shorten(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters (with "…"), for names and keys quoted as they are."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _problem(path: Path, where: str, message: str) -> ConfigError:
    return ConfigError([Problem(shorten(str(path), 200), where, message)])


def _check_aliases(node: yaml.Node, *, path: Path, budget: int) -> None:
    """Refuse a node graph whose aliases expand it by more than ``budget`` nodes.

    Sizes are computed bottom-up with memoisation by node identity (an alias
    is the same node object as its anchor), so the check costs one visit per
    distinct node however large the expansion is. A node that contains
    itself (``&a [*a]``) has no finite expansion and is refused as well.
    """
    sizes: dict[int, int] = {}
    on_stack: set[int] = set()
    unique = 0
    # iterative post-order walk: (node, depth, children pushed?)
    stack: list[tuple[yaml.Node, int, bool]] = [(node, 0, False)]
    while stack:
        current, depth, expanded = stack.pop()
        key = id(current)
        if expanded:
            on_stack.discard(key)
            total = 1
            for child in _children(current):
                total += sizes[id(child)]
            sizes[key] = total
            if total - unique > budget:
                raise _problem(
                    path,
                    _line(current),
                    _(
                        "the anchors and aliases (&name / *name) of this file expand to more "
                        "than %(budget)s extra values (settings.yaml_max_alias_nodes); refused "
                        "as a YAML 'billion laughs' bomb. Write the values out or reuse fewer "
                        "aliases"
                    )
                    % {"budget": f"{budget:,}"},
                )
            continue
        if key in sizes:
            continue
        if key in on_stack:
            raise _problem(
                path,
                _line(current),
                _(
                    "a YAML alias (*name) refers to a value that contains it, so it never ends; "
                    "remove the alias"
                ),
            )
        if depth > MAX_DEPTH:
            raise _problem(
                path,
                _line(current),
                _(
                    "values nested more than %(depth)d levels deep; map and layer files need "
                    "only a few levels, check the brackets and indentation"
                )
                % {"depth": MAX_DEPTH},
            )
        unique += 1
        on_stack.add(key)
        stack.append((current, depth, True))
        for child in _children(current):
            if id(child) not in sizes:
                stack.append((child, depth + 1, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _line(node: yaml.Node) -> str:
    mark = getattr(node, "start_mark", None)
    return _("line %(line)d") % {"line": mark.line + 1} if mark is not None else ""


def _syntax_problem(path: Path, text: str, exc: yaml.YAMLError) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    where = (
        _("line %(line)d, column %(column)d") % {"line": mark.line + 1, "column": mark.column + 1}
        if mark
        else ""
    )
    problem = (getattr(exc, "problem", None) or str(exc).splitlines()[0])[:200]
    tabs = [n for n, line in enumerate(text.splitlines(), 1) if "\t" in line]
    if tabs:
        where = _("line %(line)d") % {"line": tabs[0]}
        message = _(
            "a tab character; YAML indents with spaces: use spaces, not tabs "
            "(tabs on lines %(lines)s)"
        ) % {"lines": ", ".join(map(str, tabs[:10]))}
    elif isinstance(exc, yaml.constructor.ConstructorError) and "for the tag" in problem:
        # !!python/object and other tags: the safe loader refuses them; say why in plain words
        tag = problem.rsplit("for the tag", 1)[1].strip(" '").replace("tag:yaml.org,2002:", "!!")
        message = _(
            "a YAML tag (%(tag)s) is not allowed: map and layer files hold plain values (text, "
            "numbers, lists, mappings); remove the tag"
        ) % {"tag": shorten(tag, 80)}
    else:
        message = _("YAML syntax error: %(problem)s") % {"problem": problem}
    return _problem(path, where, message)


def load_yaml(path: Path, *, max_bytes: int | None = None) -> Any:
    """Read a map or layer YAML file safely; every problem becomes a :class:`ConfigError`.

    Parameters
    ----------
    path : Path
        The file.
    max_bytes : int, optional
        Largest file accepted (default ``settings.yaml_max_bytes``).

    Raises
    ------
    ConfigError
        File missing, not a regular file, too large, not UTF-8, a syntax
        error (with line and column), an alias bomb or self-reference, or
        nesting deeper than :data:`MAX_DEPTH`.
    """
    path = Path(path)
    limit = settings.yaml_max_bytes if max_bytes is None else max_bytes
    try:
        if not path.is_file():
            if not path.exists():
                raise _problem(path, "", _("file not found"))
            raise _problem(path, "", _("not a regular file; give the path of a .yaml file"))
        with path.open("rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise _problem(
            path, "", _("cannot be read (%(error)s)") % {"error": exc.strerror or exc}
        ) from None
    if len(raw) > limit:
        raise _problem(
            path,
            "",
            _(
                "larger than %(mb)s MB (settings.yaml_max_bytes); map and layer files are "
                "small: put data into a CSV or GeoJSON file and name it as a source"
            )
            % {"mb": f"{limit / 1e6:g}"},
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _problem(
            path,
            "",
            _("not UTF-8 text (%(why)s); save the file as UTF-8") % {"why": exc.reason},
        ) from None
    loader = LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_aliases(node, path=path, budget=settings.yaml_max_alias_nodes)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _syntax_problem(path, text, exc) from None
    except RecursionError:
        raise _problem(
            path, "", _("values nested too deeply; check the brackets and indentation")
        ) from None
    finally:
        loader.dispose()


class Short:
    """A value whose ``repr`` is :func:`excerpt` of it: for ``%(value)r`` in a message.

    Translated messages keep their ``%(value)r`` placeholders; wrapping the value
    keeps them short whatever its size.
    """

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        return excerpt(self.value)

    __str__ = __repr__
