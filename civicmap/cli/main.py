"""The click group, logging set-up and the error boundary of the command line.

:func:`handle_errors` is the only place that turns a
:class:`~civicmap.errors.CivicMapError` into a message and an exit code
(2: invalid input, 1: a run that failed). Outputs are never overwritten
without ``--overwrite``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from civicmap import __version__, progress
from civicmap.errors import CivicMapError, OutputExistsError
from civicmap.i18n import N_, _, current_language, pick_language, set_language

log = logging.getLogger("civicmap")


class _BarHandler(logging.Handler):
    """Log lines written above the progress bar instead of through it."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # a broken stderr must not end the run
            self.handleError(record)


def _setup_logging(verbose: int, quiet: int) -> None:
    """WARNING by default (a calm console); -v INFO (each step), -vv DEBUG (each element), -q ERROR."""
    level = logging.WARNING - 10 * verbose + 10 * quiet
    handler = _BarHandler()
    handler.setFormatter(
        logging.Formatter("%(levelname)s %(name)s: %(message)s" if verbose else "%(message)s")
    )
    root = logging.getLogger("civicmap")
    root.handlers[:] = [handler]
    root.setLevel(max(logging.DEBUG, min(logging.ERROR, level)))


class ProgressBar:
    """One tqdm line per long step (a :class:`civicmap.progress.Listener`).

    Shown only on a terminal (tqdm's ``disable=None``) and never with ``-q``,
    so pipes, log files and tests get no control characters.
    """

    def __init__(self, *, enabled: bool):
        self.enabled = enabled
        self.bar = None
        self.started = False

    def start(self, label: str, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=total,
            desc=label,
            file=sys.stderr,
            leave=True,
            disable=None if self.enabled else True,
            bar_format="{desc}: {percentage:3.0f}%|{bar:20}| {n_fmt}/{total_fmt}{postfix}",
        )
        self.started = False

    def advance(self, what: str) -> None:
        if self.bar is None:
            return
        if self.started:
            self.bar.update(1)
        self.started = True
        self.bar.set_postfix_str(what)

    def end(self) -> None:
        if self.bar is None:
            return
        self.bar.update(self.bar.total - self.bar.n)
        self.bar.set_postfix_str("")
        self.bar.close()
        self.bar = None


_quiet = False
_verbose = False


def say(message: str) -> None:
    """A line of normal output (what was written, the quality report); silent with ``-q``."""
    if not _quiet:
        click.echo(message)


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
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # a bug in civicmap, not a problem with the user's files
            if _verbose or os.environ.get("CIVICMAP_TRACEBACK"):
                raise  # -v (and the test suite) want the whole traceback
            log.debug("internal error", exc_info=True)
            click.echo(
                _(
                    "Error: civicmap stopped on an internal error (%(kind)s: %(message)s). "
                    "This is a bug in civicmap, not in your files. Please report it with the "
                    "output of the same command run with -v, which shows the details."
                )
                % {"kind": type(exc).__name__, "message": str(exc)[:300]},
                err=True,
            )
            sys.exit(1)

    return wrapper


@contextlib.contextmanager
def _translated_help(command: click.Command) -> Iterator[None]:
    """The command's and its options' help in the current language while the block runs.

    Help texts are marked with ``N_`` where they are declared (before any
    language is chosen) and looked up here, when the help is shown.
    """
    saved = [(command, command.help)] + [(p, getattr(p, "help", None)) for p in command.params]
    try:
        for obj, text in saved:
            if text:
                obj.help = _(text)
        yield
    finally:
        for obj, text in saved:
            obj.help = text


_HELP_OPTION = N_("Show this message and exit.")


def _help_option(option: click.Option | None) -> click.Option | None:
    if option is not None:
        option.help = _(_HELP_OPTION)
    return option


class I18nCommand(click.Command):
    """A command whose help (and its options' help) is shown in the CLI's language."""

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        return _help_option(super().get_help_option(ctx))

    def get_help(self, ctx: click.Context) -> str:
        with _translated_help(self):
            return super().get_help(ctx)

    def get_short_help_str(self, limit: int = 45) -> str:
        with _translated_help(self):
            return super().get_short_help_str(limit)


class I18nGroup(click.Group):
    """The ``civicmap`` group: picks the language before parsing, so ``--help`` is translated."""

    command_class = I18nCommand

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        return _help_option(super().get_help_option(ctx))

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        lang = None
        for i, arg in enumerate(args):
            if arg == "--lang" and i + 1 < len(args):
                lang = args[i + 1]
            elif arg.startswith("--lang="):
                lang = arg.partition("=")[2]
        before = current_language()
        set_language(pick_language(lang if lang in ("ja", "en") else None))
        ctx.call_on_close(lambda: set_language(before))
        return super().parse_args(ctx, args)

    def get_help(self, ctx: click.Context) -> str:
        with _translated_help(self):
            return super().get_help(ctx)


@click.group(
    cls=I18nGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=N_("civicmap: neighbourhood maps from OpenStreetMap and Japanese open data."),
)
@click.version_option(__version__, prog_name="civicmap", help=N_("Show the version and exit."))
@click.option(
    "-v", "--verbose", count=True, help=N_("Show each step (-vv: each element, for debugging).")
)
@click.option("-q", "--quiet", count=True, help=N_("Show only errors."))
@click.option(
    "--lang",
    type=click.Choice(["ja", "en"]),
    default=None,
    help=N_(
        "Language of messages (default: CIVICMAP_LANG, else the locale, else ja). "
        "A map's own texts follow its language: key."
    ),
)
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: int, lang: str | None) -> None:
    global _quiet, _verbose
    _quiet = quiet > 0
    _verbose = verbose > 0
    set_language(pick_language(lang))  # I18nGroup.parse_args restores the previous one
    _setup_logging(verbose, quiet)
    ctx.with_resource(progress.listening(ProgressBar(enabled=not quiet)))


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
            say(f"{kind:>8}: {p}")
