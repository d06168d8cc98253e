"""The command line: ``civicmap demo|build|batch|check|init|layers|fetch|diff|export|convert|serve|split``.

One module per command group; :mod:`civicmap.cli.main` holds the click group
and the only place that turns :class:`~civicmap.errors.CivicMapError` into an
exit code. Importing this package registers every command on :func:`main`,
so the entry point ``civicmap = "civicmap.cli:main"`` keeps working.
"""

from __future__ import annotations

from civicmap.cli import batch, build, check, export, init, osm, serve, split  # noqa: F401  (registers the commands)
from civicmap.cli.main import main

__all__ = ["main"]
