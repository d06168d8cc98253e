"""Progress of the long steps (collecting a map's data, drawing its outputs).

Library code never prints, so it cannot draw a progress bar itself; it says
where it is, and whoever listens shows it. The CLI listens with a tqdm bar:
one line per long step, updated in place. From Python nothing is shown unless
the caller installs a listener (:func:`listening`).

>>> with task("collecting", total=3) as advance:   # doctest: +SKIP
...     advance("area")
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Protocol


class Listener(Protocol):
    """What :func:`task` reports to: a step starts, advances, ends."""

    def start(self, label: str, total: int) -> None: ...

    def advance(self, what: str) -> None: ...

    def end(self) -> None: ...


_listener: contextvars.ContextVar[Listener | None] = contextvars.ContextVar(
    "civicmap_progress", default=None
)


@contextlib.contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    """Report every :func:`task` inside the block to ``listener``."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


@contextlib.contextmanager
def task(label: str, *, total: int) -> Iterator[Callable[[str], None]]:
    """A long step of ``total`` parts; call the yielded function as each part starts.

    ``label`` is shown to the user (translate it with :func:`civicmap.i18n._`).
    """
    listener = _listener.get()
    if listener is None:
        yield lambda what: None
        return
    listener.start(label, total)
    try:
        yield listener.advance
    finally:
        listener.end()
