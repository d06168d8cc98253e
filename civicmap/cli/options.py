"""Options shared by several commands, declared once.

:func:`osm_source_options` is the one decorator for ``--overpass-url``,
``--offline`` and ``--pack`` (where a command that collects a map gets its OSM
data). The command receives a single :class:`OsmChoice` argument ``osm`` that
applies the choice to a loaded map: the Overpass endpoint, the pack and offline
mode all ride on the map spec as values (``MapSpec.offline``) down to every
request, so no global setting is changed (tests need not undo anything).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import click

from civicmap import _http
from civicmap.cli.main import existing_file
from civicmap.i18n import N_
from civicmap.pack import with_pack
from civicmap.pipeline import with_offline


@dataclass(frozen=True)
class OsmChoice:
    """Where this run gets OSM data: ``--overpass-url``, ``--offline``, ``--pack``."""

    overpass_url: str | None = None
    offline: bool = False
    pack_dir: Path | None = None

    def apply(self, spec):
        """The map with this run's Overpass endpoint, offline pack and offline mode applied.

        Without ``--offline`` the map keeps its default (``settings.offline``,
        from ``CIVICMAP_OFFLINE``).
        """
        if self.overpass_url:
            spec = replace(spec, osm=replace(spec.osm, overpass_url=self.overpass_url))
        if self.pack_dir is not None:
            spec = with_pack(spec, self.pack_dir)
        return with_offline(spec, True if self.offline else None)


#: ``--allow-private-urls``: URLs from map files may reach loopback and private addresses.
allow_private_option = click.option(
    "--allow-private-urls",
    "allow_private_urls",
    is_flag=True,
    help=N_(
        "Let URLs from the map file (a tile server, osm.overpass_url) reach this computer "
        "or the local network (127.0.0.1, 192.168.x.x ...). Only for servers you run."
    ),
)


#: ``--offline``: this run uses no network (collecting commands and batch).
offline_option = click.option(
    "--offline",
    is_flag=True,
    help=N_("Use no network: only the offline pack, local files and the cache."),
)


def area_selection_options(*, where_help: str) -> Callable:
    """``--name`` and ``--where``: which attribute names each area and which areas to keep.

    ``batch --each`` and ``split --by`` read areas the same way (:func:`civicmap.batch.load_areas`),
    so the two options are declared once; only ``--where``'s help says what each command
    keeps (``where_help``, marked with ``N_`` at the call site).
    """

    def decorate(func: Callable) -> Callable:
        func = click.option("--where", multiple=True, help=where_help)(func)
        return click.option("--name", "name_field", help=N_("The attribute that names each area."))(
            func
        )

    return decorate


def network_options(func: Callable) -> Callable:
    """Run the command as one network run with ``--allow-private-urls``.

    The run (:func:`civicmap._http.network_run`) remembers hosts that cannot be
    reached and bounds retries for the whole command.
    """

    @functools.wraps(func)
    def wrapper(*args, allow_private_urls=False, **kwargs):
        with _http.network_run(allow_private=allow_private_urls):
            return func(*args, **kwargs)

    return allow_private_option(wrapper)


def osm_source_options(
    func: Callable | None = None, *, pack: bool = True, offline: bool = True
) -> Callable:
    """Add ``--overpass-url`` (and ``--offline``, ``--pack`` unless switched off), and
    ``--allow-private-urls``.

    The wrapped command gets one keyword argument ``osm`` (an :class:`OsmChoice`)
    instead of the three options; it applies them with :meth:`OsmChoice.apply`.
    The command runs as one network run (:func:`civicmap._http.network_run`):
    ``--offline`` reaches every request, whatever code makes it; the
    ``--overpass-url`` server is trusted like the settings' own.
    """

    def decorate(f: Callable) -> Callable:
        @functools.wraps(f)
        def wrapper(
            *args,
            overpass_url=None,
            offline=False,
            pack_dir=None,
            allow_private_urls=False,
            **kwargs,
        ):
            choice = OsmChoice(overpass_url=overpass_url, offline=offline, pack_dir=pack_dir)
            with _http.network_run(
                offline=offline,
                allow_private=allow_private_urls,
                trusted=(overpass_url,) if overpass_url else (),
            ):
                return f(*args, osm=choice, **kwargs)

        cmd = allow_private_option(wrapper)
        if pack:
            cmd = click.option(
                "--pack",
                "pack_dir",
                type=click.Path(file_okay=False, path_type=Path),
                default=None,
                help=N_("Read OSM data from this offline pack (made by civicmap fetch)."),
            )(cmd)
        if offline:
            cmd = offline_option(cmd)
        return click.option(
            "--overpass-url",
            default=None,
            help=N_("Overpass API endpoint for this run (overrides the map file)."),
        )(cmd)

    return decorate(func) if func is not None else decorate


report_option = click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=N_(
        "Write every rejected, repaired, removed and warned row (layer, kind, source, row, "
        "reason) to this CSV."
    ),
)

overwrite_option = click.option(
    "--overwrite", is_flag=True, help=N_("Replace existing output files.")
)

#: ``--overwrite`` of a command that writes one file (export, convert).
overwrite_file_option = click.option(
    "--overwrite", is_flag=True, help=N_("Replace an existing output file.")
)


def map_file_argument(func: Callable) -> Callable:
    """The ``MAP_FILE`` argument of build, check, export, fetch, diff and batch: it must exist."""
    return click.argument(
        "map_file", type=click.Path(dir_okay=False, path_type=Path), callback=existing_file
    )(func)
