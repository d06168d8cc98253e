"""Small helpers for validating YAML files while collecting every problem.

A :class:`Checker` walks a parsed YAML document, records each problem with
the file and the dotted key, and keeps going, so a user sees the whole list
at once instead of fixing one error per run.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from civicmap._yaml import Short, excerpt, load_yaml, shorten
from civicmap.errors import ConfigError, Problem
from civicmap.i18n import N_, _

__all__ = ["Checker", "excerpt", "is_colour", "load_yaml", "path_exists", "shorten"]

_TYPE_NAMES = {
    str: N_("a string"),
    int: N_("a whole number"),
    float: N_("a number"),
    bool: N_("true or false"),
    list: N_("a list"),
    dict: N_("a mapping"),
}


class Checker:
    """Collects problems for one file."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def add(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, key, message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)

    def type_ok(self, key: str, value: Any, *types: type) -> bool:
        """Record a problem unless ``value`` is one of ``types``; bool is never an int."""
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if not ok:
            wanted = _(" or ").join(
                _(_TYPE_NAMES[t]) if t in _TYPE_NAMES else t.__name__ for t in types
            )
            self.add(
                key,
                _("got %(value)r (%(type)s), expected %(wanted)s")
                % {"value": Short(value), "type": type(value).__name__, "wanted": wanted},
            )
        return ok

    def unknown_keys(self, key: str, mapping: Mapping, allowed: set[str] | dict) -> None:
        for k in mapping:
            if k not in allowed:
                nice = ", ".join(sorted(allowed))
                hint = did_you_mean(shorten(k, 60), allowed)
                self.add(
                    f"{key}.{shorten(k, 60)}" if key else shorten(k, 60),
                    _("unknown key%(hint)s; allowed here: %(allowed)s")
                    % {"hint": hint, "allowed": nice},
                )

    def choice(self, key: str, value: Any, allowed: list[str] | tuple[str, ...]) -> bool:
        if value not in allowed:
            self.add(
                key,
                _("got %(value)r, expected one of: %(allowed)s")
                % {"value": Short(value), "allowed": ", ".join(map(str, allowed))},
            )
            return False
        return True

    def number(
        self, key: str, value: Any, *, minimum: float | None = None, maximum: float | None = None
    ) -> bool:
        if not self.type_ok(key, value, int, float):
            return False
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            lo = "-inf" if minimum is None else minimum
            hi = "inf" if maximum is None else maximum
            self.add(
                key,
                _("got %(value)s, expected a number from %(lo)s to %(hi)s")
                % {"value": Short(value), "lo": lo, "hi": hi},
            )
            return False
        return True


#: How close a misspelt column name must be to a real one to be offered (difflib ratio):
#: looser than for keys, since headers are short Japanese words (住所 / 所在地).
COLUMN_HINT_CUTOFF = 0.5


def did_you_mean(word: str, allowed, *, cutoff: float = 0.6) -> str:
    """`` (did you mean '住所'?)`` when one of ``allowed`` is close to ``word``, else ``""``.

    The one hint for a misspelt key or column name, so ``check`` and ``build`` word it alike.
    """
    match = difflib.get_close_matches(word, [str(a) for a in allowed], n=1, cutoff=cutoff)
    return _(" (did you mean %(close)r?)") % {"close": match[0]} if match else ""


def path_exists(path: Path) -> bool:
    """``path.exists()`` that says False, not OSError, for a name too long or otherwise unusable."""
    try:
        return path.exists()
    except (OSError, ValueError):  # ENAMETOOLONG, a NUL byte in the name
        return False


_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


def is_colour(value: Any) -> bool:
    """A CSS hex colour like ``#d6336c`` or ``#fff``."""
    return isinstance(value, str) and bool(_HEX.match(value))
