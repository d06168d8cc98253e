"""``civicmap demo`` and ``civicmap build``: make the maps, then print the quality report."""

from __future__ import annotations

from pathlib import Path

import click

from civicmap import pipeline, report
from civicmap._files import write_text_atomic
from civicmap._outputs import guarded_outputs
from civicmap.check import build_warnings, osm_source
from civicmap.cli.main import handle_errors, main, print_written, say
from civicmap.cli.options import (
    OsmChoice,
    map_file_argument,
    osm_source_options,
    overwrite_option,
    report_option,
)
from civicmap.errors import NetworkError
from civicmap.i18n import N_, _, ngettext
from civicmap.pipeline import demo_map_path, map_inputs, with_output_dir
from civicmap.render.tiles import survey_act_notice
from civicmap.spec.mapfile import load_map


def build_with_report(
    spec,
    *,
    overwrite: bool,
    formats: tuple[str, ...] | None,
    report_path: Path | None,
    refresh: bool = False,
) -> None:
    """Build like :func:`civicmap.pipeline.build`, then print the quality report per layer.

    Every output (and the ``--report`` file) is checked for overwriting before
    any work starts; the report CSV is written atomically after the maps.
    """
    extra = (report_path,) if report_path is not None else ()
    # the report too: never an input, and written while the output folders are still locked
    with guarded_outputs(extra, inputs=map_inputs(spec), overwrite=overwrite):
        _build_and_report(
            spec, overwrite=overwrite, formats=formats, report_path=report_path, refresh=refresh
        )


def _build_and_report(
    spec,
    *,
    overwrite: bool,
    formats: tuple[str, ...] | None,
    report_path: Path | None,
    refresh: bool,
) -> None:
    extra = (report_path,) if report_path is not None else ()
    data, written = pipeline.build_with_data(
        spec, overwrite=overwrite, formats=formats, also_writes=extra, refresh=refresh
    )
    print_written(written)

    if "paper" in written and survey_act_notice(spec):
        say(survey_act_notice(spec))
    say(_("quality report:"))
    for line in report.summary_lines(data):
        say(f"  {line}")
    for problem in build_warnings(data):
        say(
            _("Warning: %(where)s: %(message)s")
            % {"where": f"{problem.file}: {problem.key}", "message": problem.message}
        )
    if report_path is not None:
        rows = report.quality_rows(data)
        write_text_atomic(
            report_path, report.csv_text(rows), overwrite=overwrite, encoding="utf-8-sig"
        )
        say(
            "  "
            + ngettext(
                "%(n)d reason row written to %(path)s",
                "%(n)d reason rows written to %(path)s",
                len(rows),
            )
            % {"n": len(rows), "path": report_path}
        )


@main.command(
    help=N_("Build the bundled 新宿区 西早稲田 demo offline: a web map and an A4 paper map.")
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    help=N_("Folder to write the demo maps into."),
)
@overwrite_option
@report_option
@handle_errors
def demo(out_dir: Path, overwrite: bool, report_path: Path | None) -> None:
    spec = with_output_dir(load_map(demo_map_path()), out_dir)
    say(_("Demo: %(title)s") % {"title": spec.title})
    build_with_report(spec, overwrite=overwrite, formats=None, report_path=report_path)


@main.command(help=N_("Build the outputs named in MAP_FILE (web map, paper map, exports)."))
@map_file_argument
@overwrite_option
@click.option(
    "--only",
    "only",
    multiple=True,
    type=click.Choice(["web", "paper", "site", "umap", "geojson", "kml"]),
    help=N_("Build only these outputs (repeatable)."),
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=N_("Write outputs into this folder instead of the paths in the map file."),
)
@click.option(
    "--refresh",
    is_flag=True,
    help=N_("Ask the servers again instead of using cached answers."),
)
@osm_source_options
@report_option
@handle_errors
def build(
    map_file: Path,
    overwrite: bool,
    only: tuple[str, ...],
    out_dir: Path | None,
    refresh: bool,
    osm: OsmChoice,
    report_path: Path | None,
) -> None:
    if refresh and osm.offline:
        raise click.UsageError(
            _("--refresh asks the servers again; it cannot be used with --offline")
        )
    spec = osm.apply(load_map(map_file))
    if out_dir is not None:
        spec = with_output_dir(spec, out_dir)
    try:
        build_with_report(
            spec,
            overwrite=overwrite,
            formats=only or None,
            report_path=report_path,
            refresh=refresh,
        )
    except NetworkError as exc:
        raise type(exc)(str(exc) + osm_hint(spec)) from None


def osm_hint(spec) -> str:
    """When OSM could not be fetched for a map that never said where OSM comes from: the ways out.

    A volunteer who only wanted their own CSV on a map should not be left with
    an Overpass error: say which layers need OSM and how to do without.
    """
    needs = [layer.id for layer in spec.layers if any(s.kind == "osm" for s in layer.sources)]
    if not needs or osm_source(spec) is not None:
        return ""
    return "\n" + _(
        "layers %(ids)s need OpenStreetMap data and the map names no OSM source, so the "
        "public Overpass API was asked. Without the network: give a local extract "
        "(osm: {file: area.osm.pbf}), make an offline pack with civicmap fetch, or write "
        "osm: false to use only your own files (a built-in layer then uses only its "
        "extra_sources)"
    ) % {"ids": ", ".join(needs)}
