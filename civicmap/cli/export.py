"""``civicmap export`` (a map's layers as .umap/GeoJSON/KML) and ``civicmap convert`` (one file)."""

from __future__ import annotations

from pathlib import Path

import click

from civicmap._outputs import guarded_outputs
from civicmap.check import convert_file
from civicmap.cli.main import existing_file, handle_errors, main, print_written, say
from civicmap.cli.options import (
    OsmChoice,
    map_file_argument,
    osm_source_options,
    overwrite_file_option,
)
from civicmap.i18n import N_, _
from civicmap.pipeline import collect, map_inputs
from civicmap.render.export import SUFFIXES, only_layers, write_export
from civicmap.spec.mapfile import load_map


@main.command("export", help=N_("Export the layers of MAP_FILE as .umap, GeoJSON or KML."))
@map_file_argument
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["umap", "geojson", "kml"]),
    required=True,
    help=N_("umap: import into uMap; geojson: any GIS; kml: Google My Maps (a folder per layer)."),
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=N_(
        "Output file (default: the map file's outputs.<format>.file, else next to the map file)."
    ),
)
@overwrite_file_option
@click.option(
    "--layer",
    "layers",
    multiple=True,
    help=N_(
        "Export only this layer (its title or id; repeat for several): e.g. to replace one "
        "layer's content in uMap."
    ),
)
@osm_source_options
@handle_errors
def export_cmd(
    map_file: Path,
    fmt: str,
    output: Path | None,
    overwrite: bool,
    layers: tuple[str, ...],
    osm: OsmChoice,
) -> None:
    spec = osm.apply(load_map(map_file))
    path = output or spec.output_path(fmt) or map_file.with_suffix(SUFFIXES[fmt])
    with guarded_outputs([path], inputs=map_inputs(spec), overwrite=overwrite):  # never an input
        data = only_layers(collect(spec), layers)
        written = write_export(data, path, fmt=fmt, overwrite=overwrite)
    print_written({fmt: [written]})


@main.command(
    help=N_("Convert a data file (CSV, GeoJSON, KML, .umap) to GeoJSON in the common schema.")
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), callback=existing_file)
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help=N_("The GeoJSON file to write (common schema)."),
)
@overwrite_file_option
@handle_errors
def convert(file: Path, output: Path, overwrite: bool) -> None:
    with guarded_outputs([output], inputs=[file], overwrite=overwrite):  # never FILE itself
        report = convert_file(file, output, overwrite=overwrite)
    say(
        _(
            "%(output)s: %(mapped)d of %(rows)d rows written (%(repaired)d repaired, "
            "%(rejected)d rejected; run %(command)s for details)"
        )
        % {
            "output": output,
            "mapped": report["mapped"],
            "rows": report["rows"],
            "repaired": len(report["repaired"]),
            "rejected": len(report["rejected"]),
            "command": f"civicmap check {file}",
        }
    )
