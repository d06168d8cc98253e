"""OSM tag filters with AND, OR and NOT, shared by every OSM source.

osmnx's ``tags`` dict means "any of these"; groups need "amenity=kindergarten
AND name exists" or "emergency=assembly_point AND assembly_point:tsunami=yes".
A filter is written in YAML as a condition:

- a mapping ``{key: value, ...}`` — every key must hold (AND);
- a list ``[cond, cond]`` — any condition may hold (OR);
- ``{any: [...]}``, ``{all: [...]}``, ``{not: cond}`` — explicit forms.

A value is ``"v"`` (equals), ``[v1, v2]`` (one of), ``true`` or ``"*"`` (key
present), ``false`` (key absent), ``{not: v | [v...]}`` (absent or none of) or
``{regex: "交番|駐在所"}`` (the value contains a match, as Overpass's ``~``).

Filters normalise to disjunctive normal form (OR of AND clauses of atoms), the
shape Overpass QL wants: one statement per clause, unioned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import product
from typing import Any

from civicmap._yaml import Short
from civicmap.i18n import _

_LOGIC_KEYS = {"any", "all", "not"}
#: Atom operators that pass only when the key is present.
_REQUIRING_OPS = ("in", "exists", "re")


@dataclass(frozen=True)
class Atom:
    """One tag test. ``op`` is ``in``, ``not_in``, ``exists``, ``absent``, ``re`` or ``not_re``."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def negate(self) -> Atom:
        flip = {"in": "not_in", "not_in": "in", "exists": "absent", "absent": "exists",
                "re": "not_re", "not_re": "re"}  # fmt: skip
        return Atom(self.key, flip[self.op], self.values)

    def matches(self, tags: Mapping[str, str]) -> bool:
        value = tags.get(self.key)
        if self.op == "exists":
            return value is not None
        if self.op == "absent":
            return value is None
        if self.op == "in":
            return value is not None and value in self.values
        if self.op == "re":
            return value is not None and re.search(self.values[0], value) is not None
        if self.op == "not_re":
            return value is None or re.search(self.values[0], value) is None
        return value is None or value not in self.values

    def to_overpass(self) -> str:
        key = _ql_quote(self.key)
        if self.op == "exists":
            return f"[{key}]"
        if self.op == "absent":
            return f"[!{key}]"
        if self.op in ("re", "not_re"):
            return f"[{key}{'~' if self.op == 're' else '!~'}{_ql_quote(self.values[0])}]"
        if len(self.values) == 1:
            op = "=" if self.op == "in" else "!="
            return f"[{key}{op}{_ql_quote(self.values[0])}]"
        pattern = "^(" + "|".join(re.escape(v) for v in self.values) + ")$"
        op = "~" if self.op == "in" else "!~"
        return f"[{key}{op}{_ql_quote(pattern)}]"

    def __str__(self) -> str:
        vals = "|".join(self.values)
        return {
            "exists": f"{self.key}=*",
            "absent": f"!{self.key}",
            "in": f"{self.key}={vals}",
            "not_in": f"{self.key}!={vals}",
            "re": f"{self.key}~{vals}",
            "not_re": f"{self.key}!~{vals}",
        }[self.op]


def _ql_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class FilterSyntaxError(ValueError):
    """A condition that is not of the allowed forms; ``key`` names where."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(message)


@dataclass(frozen=True)
class TagFilter:
    """A tag filter in disjunctive normal form: any clause, all atoms of a clause."""

    clauses: tuple[tuple[Atom, ...], ...]

    @classmethod
    def parse(cls, spec: Any, *, where: str = "match") -> TagFilter:
        """Parse a YAML condition; raise :class:`FilterSyntaxError` naming the key."""
        clauses = _to_dnf(spec, where, negate=False)
        if not clauses:
            raise FilterSyntaxError(where, _("an empty condition matches nothing; give a tag"))
        return cls(tuple(tuple(c) for c in clauses))

    def matches(self, tags: Mapping[str, str]) -> bool:
        """Whether an element with ``tags`` passes the filter."""
        return any(all(a.matches(tags) for a in clause) for clause in self.clauses)

    @property
    def keys(self) -> set[str]:
        """Every key the filter looks at (readers can skip elements without any)."""
        return {a.key for clause in self.clauses for a in clause}

    def required_keys(self) -> list[set[str]]:
        """Per clause, the keys an element must have to pass it (empty: any element may).

        A key tested with a regular expression counts too (``name~交番``
        needs a ``name``); negations (``access!=private``) do not.
        """
        return [{a.key for a in clause if a.op in _REQUIRING_OPS} for clause in self.clauses]

    def positive_keys(self) -> set[str]:
        """Keys that some clause requires to be present; readers pre-filter on these."""
        return set().union(*self.required_keys())

    def is_bounded(self) -> bool:
        """Whether every clause requires some key, so a key pre-filter loses nothing."""
        return all(self.required_keys())

    def overpass_selectors(self) -> list[str]:
        """One Overpass tag-selector string per clause (``[k=v][k2]...``)."""
        return ["".join(a.to_overpass() for a in clause) for clause in self.clauses]

    def __str__(self) -> str:
        return " OR ".join("(" + " AND ".join(str(a) for a in c) + ")" for c in self.clauses)


def _value_atoms(key: str, value: Any, where: str) -> list[Atom]:
    if value is True or value == "*":
        return [Atom(key, "exists")]
    if value is False:
        return [Atom(key, "absent")]
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return [Atom(key, "in", (str(value),))]
    if isinstance(value, list) and value and all(isinstance(v, str | int | float) for v in value):
        return [Atom(key, "in", tuple(str(v) for v in value))]
    if isinstance(value, Mapping) and set(value) == {"regex"} and isinstance(value["regex"], str):
        try:
            re.compile(value["regex"])
        except re.error as exc:
            raise FilterSyntaxError(
                f"{where}.{key}.regex", _("invalid regular expression: %(why)s") % {"why": exc}
            ) from None
        return [Atom(key, "re", (value["regex"],))]
    if isinstance(value, Mapping) and set(value) == {"not"}:
        inner = value["not"]
        if inner is True or inner == "*":
            return [Atom(key, "absent")]
        vals = inner if isinstance(inner, list) else [inner]
        if vals and all(isinstance(v, str | int | float) for v in vals):
            return [Atom(key, "not_in", tuple(str(v) for v in vals))]
    raise FilterSyntaxError(
        f"{where}.{key}",
        _(
            "got %(value)r; expected a value, a list of values, true (present), "
            "false (absent), {not: value-or-list} or {regex: pattern}"
        )
        % {"value": Short(value)},
    )


def _to_dnf(spec: Any, where: str, *, negate: bool) -> list[list[Atom]]:
    """Return a list of AND clauses; ``negate`` applies De Morgan on the way down."""
    if isinstance(spec, list):
        if not spec:
            raise FilterSyntaxError(where, _("an empty list matches nothing"))
        parts = [_to_dnf(s, f"{where}[{i}]", negate=negate) for i, s in enumerate(spec)]
        return _and(parts) if negate else _or(parts)
    if not isinstance(spec, Mapping):
        raise FilterSyntaxError(
            where,
            _("got %(value)r; expected a mapping of tags, a list, or any/all/not")
            % {"value": Short(spec)},
        )
    logic = set(spec) & _LOGIC_KEYS
    if logic and len(spec) == 1:
        (op,) = logic
        inner = spec[op]
        if op == "not":
            return _to_dnf(inner, f"{where}.not", negate=not negate)
        if not isinstance(inner, list) or not inner:
            raise FilterSyntaxError(
                f"{where}.{op}",
                _("%(op)s takes a non-empty list of conditions") % {"op": op},
            )
        parts = [_to_dnf(s, f"{where}.{op}[{i}]", negate=negate) for i, s in enumerate(inner)]
        is_and = (op == "all") != negate
        return _and(parts) if is_and else _or(parts)
    if not spec:
        raise FilterSyntaxError(where, _("an empty mapping matches nothing; give at least one tag"))
    per_key = []
    for key, value in spec.items():
        atoms = _value_atoms(str(key), value, where)
        if negate:
            per_key.append([[a.negate()] for a in atoms])
        else:
            per_key.append([atoms])
    return _or(per_key) if negate else _and(per_key)


def _or(parts: list[list[list[Atom]]]) -> list[list[Atom]]:
    return [clause for part in parts for clause in part]


def _and(parts: list[list[list[Atom]]]) -> list[list[Atom]]:
    out = []
    for combo in product(*parts):
        clause: list[Atom] = []
        for c in combo:
            for atom in c:
                if atom not in clause:
                    clause.append(atom)
        out.append(clause)
    return out


@dataclass(frozen=True)
class AnyTagged:
    """Matches every element that has at least one tag.

    Used to read the answer of a raw Overpass QL query: the query already
    chose the elements, and untagged ones are only its geometry (way nodes,
    relation members), not results.
    """

    clauses: tuple[tuple[Atom, ...], ...] = ((),)

    def matches(self, tags: Mapping[str, str]) -> bool:
        return bool(tags)

    @property
    def keys(self) -> set[str]:
        return set()

    def required_keys(self) -> list[set[str]]:
        return [set()]

    def positive_keys(self) -> set[str]:
        return set()

    def is_bounded(self) -> bool:
        return False

    def __str__(self) -> str:
        return "(any tagged element)"
