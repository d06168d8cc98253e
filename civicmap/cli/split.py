"""``civicmap split``: one extract per area from a large extract (see :mod:`civicmap.split`)."""

from __future__ import annotations

from pathlib import Path

import click

from civicmap.cli.main import handle_errors, main, say
from civicmap.cli.options import area_selection_options
from civicmap.i18n import N_, _
from civicmap.split import split_extract


@main.command(
    "split",
    help=N_(
        "Cut EXTRACT (.osm.pbf) into one extract per area (<key>.osm.pbf, and split.json) in "
        "a few streamed passes, so maps and batches read only their area's part."
    ),
)
@click.argument("extract", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--by",
    required=True,
    help=N_(
        "prefecture, municipality (the bundled N03 boundaries), or a boundary file / "
        "municipalities:NN as batch --each takes it (then the parts carry the batch's keys)."
    ),
)
@area_selection_options(
    where_help=N_("Keep only areas with FIELD=VALUE[,VALUE...] (as in batch)."),
)
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("split"),
    show_default=True,
    help=N_("Folder for the parts and split.json."),
)
@click.option(
    "--margin",
    type=float,
    default=500.0,
    show_default=True,
    help=N_("Metres around each area also kept (keep it above the batch's --margin)."),
)
@click.option("--overwrite", is_flag=True, help=N_("Replace an earlier split in the folder."))
@click.option(
    "--geoparquet",
    is_flag=True,
    help=N_("Also write each part's built-in layers as GeoParquet files (faster to read)."),
)
@handle_errors
def split_cmd(
    extract: Path,
    by: str,
    name_field: str | None,
    where: tuple[str, ...],
    out_dir: Path,
    margin: float,
    overwrite: bool,
    geoparquet: bool,
) -> None:
    parts = split_extract(
        extract,
        out_dir,
        by=by,
        name_field=name_field,
        where=where,
        margin_m=margin,
        overwrite=overwrite,
        geoparquet=geoparquet,
        progress=say,
    )
    for p in parts[:30]:
        say(
            _("    %(name)s: %(file)s (%(nodes)d nodes, %(ways)d ways, %(relations)d relations)")
            % {
                "name": p.name,
                "file": p.file,
                "nodes": p.nodes,
                "ways": p.ways,
                "relations": p.relations,
            }
        )
    say(_("%(n)d parts in %(folder)s") % {"n": len(parts), "folder": out_dir})
