"""Errors civicmap raises.

Every message names the bad value (file, key, row) and says what would fix it.
Library code raises these; only :mod:`civicmap.cli` turns them into exit codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from civicmap.i18n import _, ngettext


class CivicMapError(Exception):
    """Base of every error civicmap raises on purpose."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One problem found while validating a file.

    Attributes
    ----------
    file : str
        The file the problem is in (or ``"<map>"`` for in-memory input).
    key : str
        Dotted path of the offending key, e.g. ``layers[2].style.color``.
    message : str
        What is wrong and what is allowed.
    """

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.message}"


class ConfigError(CivicMapError):
    """A map or layer file is invalid. Carries every problem found, not just the first."""

    exit_code = 2

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        n = len(self.problems)
        head = ngettext("%(n)d problem found:", "%(n)d problems found:", n) % {"n": n}
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))


class AreaError(CivicMapError):
    """The map's area cannot be resolved (unknown code, empty boundary file, ...)."""

    exit_code = 2


class SourceError(CivicMapError):
    """A data source cannot be read at all (missing file, unknown format, no coordinates)."""


class InputError(SourceError):
    """A file or folder the user named is missing or not of the kind asked (exit 2, like
    any invalid input): e.g. ``--since`` that is neither the last print's pack nor its GeoJSON."""

    exit_code = 2


class NetworkError(CivicMapError):
    """A request failed after the bounded retries."""


class OfflineError(NetworkError):
    """Offline mode (or no network) and the cache does not hold what is needed."""


class OutputExistsError(CivicMapError):
    """An output file exists and ``overwrite`` was not given.

    Carries the ``path`` so the CLI can name its own switch (``--overwrite``)
    while Python callers read the keyword they pass (``overwrite=True``).
    """

    exit_code = 2

    def __init__(self, path: str | Path, message: str | None = None):
        self.path = Path(path)
        if message is not None:  # a caller with its own wording
            super().__init__(message)
            return
        super().__init__(
            _(
                "%(path)s already exists; pass overwrite=True (--overwrite on the command line) to replace it"
            )
            % {"path": path}
        )

    def cli_message(self) -> str:
        """The message for the command line: the fix is the ``--overwrite`` switch."""
        return _("%(path)s already exists; add --overwrite to the command to replace it") % {
            "path": self.path
        }


class BatchError(CivicMapError):
    """A batch's areas cannot be used (unknown attribute, no area matches ``--where``)."""

    exit_code = 2
