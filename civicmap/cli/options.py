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


def osm_source_options(
    func: Callable | None = None, *, pack: bool = True, offline: bool = True
) -> Callable:
    """Add ``--overpass-url`` (and ``--offline``, ``--pack`` unless switched off).

    The wrapped command gets one keyword argument ``osm`` (an :class:`OsmChoice`)
    instead of the three options; it applies them with :meth:`OsmChoice.apply`.
    """

    def decorate(f: Callable) -> Callable:
        @functools.wraps(f)
        def wrapper(*args, overpass_url=None, offline=False, pack_dir=None, **kwargs):
            choice = OsmChoice(overpass_url=overpass_url, offline=offline, pack_dir=pack_dir)
            return f(*args, osm=choice, **kwargs)

        cmd = wrapper
        if pack:
            cmd = click.option(
                "--pack",
                "pack_dir",
                type=click.Path(file_okay=False, path_type=Path),
                default=None,
                help=N_("Read OSM data from this offline pack (made by civicmap fetch)."),
            )(cmd)
        if offline:
            cmd = click.option(
                "--offline",
                is_flag=True,
                help=N_("Use no network: only the offline pack, local files and the cache."),
            )(cmd)
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


def map_file_argument(func: Callable) -> Callable:
    """The ``MAP_FILE`` argument of build, check, export, fetch, diff and batch: it must exist."""
    return click.argument(
        "map_file", type=click.Path(dir_okay=False, path_type=Path), callback=existing_file
    )(func)
