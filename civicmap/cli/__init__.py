"""The command line: ``civicmap demo|build|batch|check|init|layers|fetch|diff|export|convert|serve|split``.

One module per command group; :mod:`civicmap.cli.main` holds the click group
and the only place that turns :class:`~civicmap.errors.CivicMapError` into an
exit code. Importing this package registers every command on :func:`main`; the
``civicmap`` command itself is :func:`run`.
"""

from __future__ import annotations

from civicmap._gc import set_imports_aside
from civicmap.cli import batch, build, check, export, init, osm, serve, split  # noqa: F401  (registers the commands)
from civicmap.cli.main import main

__all__ = ["main", "run"]


def run() -> None:
    """The ``civicmap`` command: :func:`main` in a process of its own.

    Its imports are set aside from the garbage collector first (:mod:`civicmap._gc`):
    a command is its own process, unlike ``main`` called from Python or a test.
    """
    set_imports_aside()
    main()
