"""The click group, logging set-up and the error boundary of the command line.

:func:`handle_errors` is the only place that turns a
:class:`~civicmap.errors.CivicMapError` into a message and an exit code
(2: invalid input, 1: a run that failed). Outputs are never overwritten
without ``--overwrite``.
"""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

import click

from civicmap import __version__
from civicmap.errors import CivicMapError, OutputExistsError
from civicmap.i18n import _, current_language, pick_language, set_language

log = logging.getLogger("civicmap")


def _setup_logging(verbose: int, quiet: int) -> None:
    level = logging.INFO - 10 * verbose + 10 * quiet
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(levelname)s %(name)s: %(message)s" if verbose else "%(message)s")
    )
    root = logging.getLogger("civicmap")
    root.handlers[:] = [handler]
    root.setLevel(max(logging.DEBUG, min(logging.ERROR, level)))


def handle_errors(func):
    """Turn CivicMapError into a one-line (or one-list) message and its exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except OutputExistsError as exc:
            click.echo(_("Error: %(message)s") % {"message": exc.cli_message()}, err=True)
            sys.exit(exc.exit_code)
        except CivicMapError as exc:
            click.echo(_("Error: %(message)s") % {"message": exc}, err=True)
            sys.exit(exc.exit_code)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="civicmap")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", count=True, help="Less log output.")
@click.option(
    "--lang",
    type=click.Choice(["ja", "en"]),
    default=None,
    help="Language of messages (default: CIVICMAP_LANG, else the locale, else ja). "
    "A map's own texts follow its language: key.",
)
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: int, lang: str | None) -> None:
    """civicmap: neighbourhood maps from OpenStreetMap and Japanese open data."""
    before = current_language()
    set_language(pick_language(lang))
    ctx.call_on_close(lambda: set_language(before))
    _setup_logging(verbose, quiet)


def existing_file(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A click callback: the file must exist; say so in the user's language, with the fix."""
    if value is None or value.is_file():
        return value
    if value.is_dir():
        msg = _("%(path)s is a folder; give a file inside it") % {"path": value}
    else:
        import difflib

        names = sorted(p.name for p in value.parent.glob("*") if p.is_file())
        msg = _(
            "file not found: %(path)s (looked in %(folder)s); check the name and the folder"
        ) % {
            "path": value,
            "folder": value.parent.resolve(),
        }
        close = difflib.get_close_matches(value.name, names, n=1, cutoff=0.6)
        if close:
            msg += _(" (did you mean %(close)r?)") % {"close": close[0]}
    click.echo(_("Error: %(message)s") % {"message": msg}, err=True)
    ctx.exit(2)


def print_written(written: dict[str, list[Path]]) -> None:
    """One line per written file, ``kind: path``."""
    for kind, paths in written.items():
        for p in paths:
            click.echo(f"{kind:>8}: {p}")
