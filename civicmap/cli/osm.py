"""``civicmap fetch`` (an offline pack) and ``civicmap diff`` (official lists against OSM)."""

from __future__ import annotations

from pathlib import Path

import click

from civicmap._outputs import guarded_outputs
from civicmap.cli.main import handle_errors, main, say
from civicmap.cli.options import OsmChoice, map_file_argument, osm_source_options
from civicmap.diff import CHANGE_WORDS, changes_since, write_changes, write_diff
from civicmap.i18n import N_, _
from civicmap.pack import fetch_pack
from civicmap.pipeline import collect, last_print, map_inputs
from civicmap.sources.remote import when_text
from civicmap.spec.mapfile import load_map

#: The diff summary's words (the CSV keeps the codes): matched pairs, then each status.
DIFF_LABELS = {
    "matched": N_("matched"),
    "only_official": N_("only_official"),
    "only_osm": N_("only_osm"),
    "location_mismatch": N_("location_mismatch"),
    "name_mismatch": N_("name_mismatch"),
}


@main.command(
    "diff",
    help=N_("Compare each layer's official list with OSM: what is missing, misplaced or misnamed."),
)
@map_file_argument
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    help=N_("Folder to write MAP_diff.csv and MAP_diff.geojson into."),
)
@click.option("--overwrite", is_flag=True, help=N_("Replace existing diff files."))
@click.option(
    "--since",
    "since",
    type=click.Path(path_type=Path),
    default=None,
    help=N_(
        "The last print: its offline pack (civicmap fetch) or its GeoJSON (outputs.geojson): "
        "list what opened, closed, appeared, moved or disappeared since, into MAP_changes.csv."
    ),
)
@osm_source_options
@handle_errors
def diff_cmd(
    map_file: Path, out_dir: Path, overwrite: bool, since: Path | None, osm: OsmChoice
) -> None:
    spec = osm.apply(load_map(map_file))
    if since is not None:
        path = out_dir / f"{map_file.stem}_changes.csv"
        with guarded_outputs([path], inputs=[*map_inputs(spec), since], overwrite=overwrite):
            data = collect(spec)
            changes = changes_since(data, last_print(spec, since, area=data.area))
            write_changes(changes, path, overwrite=overwrite)
        say(changes.summary(data.language))
        words = CHANGE_WORDS[data.language]
        for c in changes.changes:
            say(f"  {words[c.kind]}: {c.layer} / {c.name}")
        say(f"    diff: {path}")
        return
    # the map's inputs registered: every diff file written is checked against them
    with guarded_outputs([], inputs=map_inputs(spec), overwrite=overwrite):
        written, summary = write_diff(collect(spec), out_dir, overwrite=overwrite)
    for layer_id, counts in summary.items():
        say(f"{layer_id}: " + ", ".join(f"{_(DIFF_LABELS[k])} {v}" for k, v in counts.items()))
    for p in written:
        say(f"    diff: {p}")


@main.command(
    help=N_("Download the OSM data MAP_FILE needs into an offline pack, to build with no network.")
)
@map_file_argument
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=N_("Pack folder to write (default: the map's osm.pack, else osm-pack next to the map)."),
)
@osm_source_options(pack=False, offline=False)
@click.option(
    "--refresh", is_flag=True, help=N_("Ask Overpass again instead of using cached answers.")
)
@click.option("--no-streets", is_flag=True, help=N_("Leave out the walking street network."))
@click.option("--overwrite", is_flag=True, help=N_("Replace an existing pack."))
@handle_errors
def fetch(
    map_file: Path,
    out: Path | None,
    osm: OsmChoice,
    refresh: bool,
    no_streets: bool,
    overwrite: bool,
) -> None:
    spec = osm.apply(load_map(map_file))
    info = fetch_pack(
        spec, out=out, overwrite=overwrite, refresh=refresh, streets_network=not no_streets
    )
    say(
        _("Offline pack: %(folder)s (%(n)d answers, %(mb).1f MB, OSM data as of %(base)s)")
        % {
            "folder": info.folder,
            "n": len(info.queries),
            "mb": info.total_bytes / 1e6,
            "base": info.osm_base or _("unknown"),
        }
    )
    tiles = info.tiles or {}
    if tiles:  # background tiles stored with the OSM data (#14)
        say(
            _(
                "  background tiles: %(count)d of %(source)s (zooms %(zooms)s, %(mb).1f MB), "
                "%(missing)d missing"
            )
            % {
                "count": tiles["count"],
                "source": tiles["source"],
                "zooms": ", ".join(map(str, tiles["zooms"])),
                "mb": tiles["bytes"] / 1e6,
                "missing": len(tiles["missing"]),
            }
        )
    for r in info.remote:  # remote sources' copies (url:), each with its fetch time (#27)
        say(
            _("  %(name)s (layer %(layer)s): fetched %(when)s, %(kb).1f kB")
            % {"name": r["name"], "layer": r["layer"], "when": when_text(r["fetched"]),
               "kb": r["bytes"] / 1e3}
        )  # fmt: skip
    if not spec.osm.pack or Path(spec.path(spec.osm.pack)).resolve() != info.folder:
        say(
            _("Build from it with: %(command)s")
            % {"command": f"civicmap build {map_file} --pack {info.folder}"}
        )
