"""``civicmap init``: a commented starter map file from a data file, an area, built-in layers."""

from __future__ import annotations

from pathlib import Path

import click

from civicmap._files import write_text_atomic
from civicmap._outputs import check_output
from civicmap.area import resolve_area
from civicmap.cli.main import handle_errors, main, say
from civicmap.errors import ConfigError, Problem
from civicmap.i18n import N_, _
from civicmap.spec.area import AreaSpec
from civicmap.spec.layers import load_layer
from civicmap.starter import choose_paper, read_starter_data, starter_text


def _bbox(ctx: click.Context, param: click.Parameter, value: str | None):
    if value is None:
        return None
    try:
        parts = tuple(float(v) for v in value.replace(" ", "").split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4 or not (parts[0] < parts[2] and parts[1] < parts[3]):
        raise click.BadParameter(
            _("got %(value)r, expected W,S,E,N in degrees, e.g. 139.70,35.70,139.71,35.71")
            % {"value": value}
        )
    return parts


@main.command(
    "init",
    help=N_(
        "Write a commented starter map file that builds as it is.\n"
        "\n"
        "From a data file (civicmap init mydata.csv: its columns are detected and it\n"
        "becomes a layer of its own, no OSM needed), an area (--area 172014, --bbox,\n"
        "--place) and/or built-in layers (--layer childcare, with --osm-file to work\n"
        "offline). Check it with civicmap check, build it with civicmap build."
    ),
)
@click.argument("data_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--area", "municipality", default=None, help=N_("全国地方公共団体コード, e.g. 172014.")
)
@click.option("--bbox", callback=_bbox, default=None, help=N_("W,S,E,N in degrees."))
@click.option("--place", default=None, help=N_("A place name (looked up online when building)."))
@click.option(
    "--osm-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=N_("A local OSM extract (.osm, .osm.bz2, .osm.pbf) for built-in layers, offline."),
)
@click.option(
    "--layer",
    "layers",
    multiple=True,
    help=N_("A built-in layer to add (repeatable; see civicmap layers)."),
)
@click.option("--title", default=None, help=N_("The map's title."))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("map.yaml"),
    show_default=True,
    help=N_("The map file to write."),
)
@click.option("--overwrite", is_flag=True, help=N_("Replace an existing map file."))
@handle_errors
def init_cmd(
    data_file: Path | None,
    municipality: str | None,
    bbox,
    place: str | None,
    osm_file: Path | None,
    layers: tuple[str, ...],
    title: str | None,
    output: Path,
    overwrite: bool,
) -> None:
    # never the data file or the extract it describes (init -o mydata.csv --overwrite)
    check_output(output, overwrite=overwrite, inputs=[p for p in (data_file, osm_file) if p])
    problems = []
    for path, what in ((data_file, "DATA_FILE"), (osm_file, "--osm-file")):
        if path is not None and not path.is_file():
            problems.append(
                Problem(str(path), what, _("file not found; check the path and the folder"))
            )
    for lid in layers:
        try:
            load_layer(lid)
        except ConfigError as exc:
            problems += exc.problems
    if municipality is not None:
        try:
            resolve_area(AreaSpec(kind="municipality", value=str(municipality)), base_dir=Path("."))
        except Exception as exc:  # AreaError: the message names the fix
            problems.append(Problem("--area", str(municipality), str(exc)))
    if problems:
        raise ConfigError(problems)
    data = read_starter_data(data_file) if data_file is not None else None
    starter = {
        "map_path": output,
        "data": data,
        "municipality": municipality,
        "bbox": bbox,
        "place": place,
        "osm_file": osm_file,
        "layers": layers,
        "title": title,
    }
    text = starter_text(**starter)
    paper = choose_paper(text, map_path=output)  # a first map that prints readably
    if paper.atlas or paper.fit != "area":  # an atlas, or one sheet zoomed to the places
        text = starter_text(**starter, paper=paper)
    write_text_atomic(output, text, overwrite=overwrite)
    say(_("wrote %(path)s") % {"path": output})
    if data is not None:
        say(
            _("  layer %(id)s: %(rows)d places from %(file)s; columns %(columns)s")
            % {
                "id": data.layer_id,
                "rows": data.rows,
                "file": data.path.name,
                "columns": ", ".join(
                    f"{k}={'+'.join(v) if isinstance(v, list) else v}"
                    for k, v in data.columns.items()
                )
                or "-",
            }
        )
    if paper.atlas:
        say(
            _(
                "  paper: one sheet at 1:%(single)s is too crowded to read; proposed an "
                "atlas of %(pages)d %(size)s pages at 1:%(scale)s"
            )
            % {
                "single": f"{paper.crowded_scale:,}",
                "size": paper.size,
                "scale": f"{paper.scale:,}",
                "pages": paper.pages,
            }
        )
    elif paper.fit == "data":
        say(
            _(
                "  paper: the whole area on one sheet is too crowded to read; the sheet is "
                "zoomed to the places (fit: data)"
            )
        )
    say(_("next: civicmap check %(path)s, then civicmap build %(path)s") % {"path": output})
