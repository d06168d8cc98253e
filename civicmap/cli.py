"""The command line: ``civicmap demo|build|check|layers|...``.

The only place that turns :class:`~civicmap.errors.CivicMapError` into an exit
code: library errors become click errors here, at the command boundary.
Outputs are never overwritten without ``--overwrite``.
"""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

import click

from civicmap import __version__
from civicmap.errors import CivicMapError

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
        except CivicMapError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="civicmap")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", count=True, help="Less log output.")
def main(verbose: int, quiet: int) -> None:
    """civicmap: neighbourhood maps from OpenStreetMap and Japanese open data."""
    _setup_logging(verbose, quiet)


def _print_written(written: dict[str, list[Path]]) -> None:
    for kind, paths in written.items():
        for p in paths:
            click.echo(f"{kind:>8}: {p}")


def _osm_source_options(func):
    """--overpass-url, --offline and --pack: where a command that collects a map gets OSM data."""
    func = click.option(
        "--pack",
        "pack_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Read OSM data from this offline pack (made by civicmap fetch).",
    )(func)
    func = click.option(
        "--offline",
        is_flag=True,
        help="Use no network: only the offline pack, local files and the cache.",
    )(func)
    return _overpass_url_option(func)


_overpass_url_option = click.option(
    "--overpass-url",
    default=None,
    help="Overpass API endpoint for this run (overrides the map file).",
)

_REPORT_OPTION = click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write every rejected, repaired, removed and warned row (layer, kind, source, row, "
    "reason) to this CSV.",
)


def _build_with_report(
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
    from civicmap import report
    from civicmap._files import write_text_atomic
    from civicmap.pipeline import build_with_data

    extra = (report_path,) if report_path is not None else ()
    data, written = build_with_data(
        spec, overwrite=overwrite, formats=formats, also_writes=extra, refresh=refresh
    )
    _print_written(written)
    from civicmap.render.tiles import survey_act_notice  # GSI tiles on paper (#14)

    if "paper" in written and survey_act_notice(spec):
        click.echo(survey_act_notice(spec))
    click.echo("quality report:")
    for line in report.summary_lines(data):
        click.echo(f"  {line}")
    if report_path is not None:
        rows = report.quality_rows(data)
        write_text_atomic(
            report_path, report.csv_text(rows), overwrite=overwrite, encoding="utf-8-sig"
        )
        click.echo(f"  {len(rows)} reason row(s) written to {report_path}")


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Folder to write the demo maps into.",
)
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@_REPORT_OPTION
@handle_errors
def demo(out_dir: Path, overwrite: bool, report_path: Path | None) -> None:
    """Build the bundled 新宿区 西早稲田 demo offline: a web map and an A4 paper map."""
    from civicmap.mapfile import load_map
    from civicmap.pipeline import demo_map_path, with_output_dir

    spec = with_output_dir(load_map(demo_map_path()), out_dir)
    click.echo(f"Demo: {spec.title}")
    _build_with_report(spec, overwrite=overwrite, formats=None, report_path=report_path)


@main.command()
@click.argument("map_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@click.option(
    "--only",
    "only",
    multiple=True,
    type=click.Choice(["web", "paper", "umap", "geojson", "kml"]),
    help="Build only these outputs (repeatable).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write outputs into this folder instead of the paths in the map file.",
)
@_osm_source_options
@_REPORT_OPTION
@click.option(
    "--refresh", is_flag=True, help="Ask the servers again instead of using cached answers."
)
@handle_errors
def build(
    map_file: Path,
    overwrite: bool,
    only: tuple[str, ...],
    out_dir: Path | None,
    overpass_url: str | None,
    offline: bool,
    pack_dir: Path | None,
    report_path: Path | None,
    refresh: bool,
) -> None:
    """Build the outputs named in MAP_FILE (web map, paper map, exports)."""
    if refresh and offline:
        raise click.UsageError("--refresh asks the servers again; it cannot be used with --offline")
    from civicmap.mapfile import load_map
    from civicmap.pipeline import with_output_dir

    spec = load_map(map_file)
    spec = _osm_options(spec, overpass_url=overpass_url, offline=offline, pack_dir=pack_dir)
    if out_dir is not None:
        spec = with_output_dir(spec, out_dir)
    _build_with_report(
        spec, overwrite=overwrite, formats=only or None, report_path=report_path, refresh=refresh
    )


@main.command("diff")
@click.argument("map_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Folder to write MAP_diff.csv and MAP_diff.geojson into.",
)
@click.option("--overwrite", is_flag=True, help="Replace existing diff files.")
@_osm_source_options
@handle_errors
def diff_cmd(
    map_file: Path,
    out_dir: Path,
    overwrite: bool,
    overpass_url: str | None,
    offline: bool,
    pack_dir: Path | None,
) -> None:
    """Compare each layer's official list with OSM: what is missing, misplaced or misnamed."""
    from civicmap.diff import write_diff
    from civicmap.mapfile import load_map
    from civicmap.pipeline import collect

    spec = _osm_options(
        load_map(map_file), overpass_url=overpass_url, offline=offline, pack_dir=pack_dir
    )
    written, summary = write_diff(collect(spec), out_dir, overwrite=overwrite)
    for layer_id, counts in summary.items():
        click.echo(f"{layer_id}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for p in written:
        click.echo(f"    diff: {p}")


@main.command("export")
@click.argument("map_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["umap", "geojson", "kml"]),
    required=True,
    help="umap: import into uMap; geojson: any GIS; kml: Google My Maps (a folder per layer).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Output file (default: the map file's outputs.<format>.file, else next to the map file).",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@_osm_source_options
@handle_errors
def export_cmd(
    map_file: Path,
    fmt: str,
    output: Path | None,
    overwrite: bool,
    overpass_url: str | None,
    offline: bool,
    pack_dir: Path | None,
) -> None:
    """Export the layers of MAP_FILE as .umap, GeoJSON or KML."""
    from civicmap._files import check_writable
    from civicmap.mapfile import load_map
    from civicmap.pipeline import collect
    from civicmap.render.export import SUFFIXES, write_export

    spec = _osm_options(
        load_map(map_file), overpass_url=overpass_url, offline=offline, pack_dir=pack_dir
    )
    path = output or spec.output_path(fmt) or map_file.with_suffix(SUFFIXES[fmt])
    check_writable(path, overwrite=overwrite)
    written = write_export(collect(spec), path, fmt=fmt, overwrite=overwrite)
    _print_written({fmt: [written]})


def _osm_options(spec, *, overpass_url: str | None, offline: bool, pack_dir: Path | None):
    """Apply --overpass-url / --offline / --pack to a loaded map for this run."""
    from dataclasses import replace

    from civicmap import settings
    from civicmap.pack import with_pack

    if offline:
        settings.offline = True
    if overpass_url:
        spec = replace(spec, osm={**spec.osm, "overpass_url": overpass_url})
    if pack_dir is not None:
        spec = with_pack(spec, pack_dir)
    return spec


@main.command()
@click.argument("map_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Pack folder to write (default: the map's osm.pack, else osm-pack next to the map).",
)
@_overpass_url_option
@click.option("--refresh", is_flag=True, help="Ask Overpass again instead of using cached answers.")
@click.option("--no-streets", is_flag=True, help="Leave out the walking street network.")
@click.option("--overwrite", is_flag=True, help="Replace an existing pack.")
@handle_errors
def fetch(
    map_file: Path,
    out: Path | None,
    overpass_url: str | None,
    refresh: bool,
    no_streets: bool,
    overwrite: bool,
) -> None:
    """Download the OSM data MAP_FILE needs into an offline pack, to build with no network."""
    from civicmap.mapfile import load_map
    from civicmap.pack import fetch_pack

    spec = _osm_options(load_map(map_file), overpass_url=overpass_url, offline=False, pack_dir=None)
    info = fetch_pack(
        spec, out=out, overwrite=overwrite, refresh=refresh, streets_network=not no_streets
    )
    click.echo(
        f"Offline pack: {info.folder} ({len(info.queries)} answers, {info.total_bytes / 1e6:.1f} MB, "
        f"OSM data as of {info.osm_base or 'unknown'})"
    )
    tiles = info.tiles or {}
    if tiles:  # background tiles stored with the OSM data (#14)
        click.echo(
            f"  background tiles: {tiles['count']} of {tiles['source']} (zooms "
            f"{', '.join(map(str, tiles['zooms']))}, {tiles['bytes'] / 1e6:.1f} MB), "
            f"{len(tiles['missing'])} missing"
        )
    if not spec.osm.get("pack") or Path(spec.path(spec.osm["pack"])).resolve() != info.folder:
        click.echo(f"Build from it with: civicmap build {map_file} --pack {info.folder}")


@main.command("layers")
@click.option("--language", type=click.Choice(["ja", "en"]), default="ja", show_default=True)
@handle_errors
def layers_cmd(language: str) -> None:
    """List the built-in layers."""
    from civicmap.layers import builtin_layer_ids, load_layer

    for lid in builtin_layer_ids():
        layer = load_layer(lid)
        kinds = ", ".join(sorted({s.kind for s in layer.sources}))
        click.echo(f"{lid:<14} {layer.title_in(language)}  [{kinds}; {layer.style['symbol']}]")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--rejected",
    "rejected_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Data files: write the rejected rows (row, reason) to this CSV.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing --rejected file.")
@handle_errors
def check(file: Path, as_json: bool, rejected_out: Path | None, overwrite: bool) -> None:
    """Validate a map file, a layer file or a data file and report every problem."""
    import json

    import yaml

    from civicmap.mapfile import load_map

    if file.suffix.lower() in (".yaml", ".yml"):
        from civicmap._validate import load_yaml
        from civicmap.layers import load_layer

        raw = load_yaml(file)
        is_layer = isinstance(raw, dict) and "sources" in raw and "area" not in raw
        if is_layer:
            layer = load_layer(file)
            report = {
                "file": str(file),
                "kind": "layer",
                "ok": True,
                "id": layer.id,
                "sources": [s.kind for s in layer.sources],
            }
        else:
            spec = load_map(file)
            report = {
                "file": str(file),
                "kind": "map",
                "ok": True,
                "title": spec.title,
                "layers": [layer.id for layer in spec.layers],
                "outputs": sorted(spec.outputs),
            }
            from civicmap.render.tiles import survey_act_notice  # GSI tiles on paper (#14)

            if survey_act_notice(spec):
                report["notice"] = survey_act_notice(spec)
        if as_json:
            click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            click.echo(f"{file}: OK ({report['kind']})")
            click.echo(
                yaml.safe_dump(
                    {k: v for k, v in report.items() if k not in ("file", "ok")},
                    allow_unicode=True,
                    sort_keys=False,
                ).rstrip()
            )
        return
    from civicmap.check import check_file, write_rejected_csv

    report = check_file(file)
    if rejected_out is not None:
        write_rejected_csv(report, rejected_out, overwrite=overwrite)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    else:
        _print_data_report(report)
    if rejected_out is not None and not as_json:
        click.echo(f"rejected rows written to {rejected_out}")


def _print_data_report(report: dict) -> None:
    """The data-file check report as text a volunteer can act on."""
    click.echo(f"{report['file']}: {report['kind']}")
    click.echo(f"  encoding: {report['encoding']}")
    for r in report.get("file_repairs", []):
        click.echo(f"  repaired file: {r}")
    click.echo(f"  layout:   {report['layout']}")
    if report.get("sheet"):  # spreadsheets: the sheet read, and every sheet seen
        click.echo(f"  sheet:    {report['sheet']} ({report.get('sheet_chosen_because', '')})")
        for sheet, seen in (report.get("sheets") or {}).items():
            table = (
                f"header on row {seen['header_row']}, {seen['known_columns']} known columns"
                if seen.get("header_row")
                else "no table of places"
            )
            click.echo(f"    sheet {sheet!r}: {seen['rows']} rows, {table}")
    if report.get("crs"):
        click.echo(f"  crs:      {report['crs']} → EPSG:4326 {report.get('crs_axes', '')}".rstrip())
    cols = {k: v for k, v in report["columns"].items() if v}
    click.echo("  columns:  " + ", ".join(f"{k}={v}" for k, v in cols.items()))
    if report.get("header_row", 1) != 1:
        click.echo(
            f"  header found on line {report['header_row']} (lines above: {report.get('preamble')})"
        )
    for new, why in (report.get("renamed_columns") or {}).items():
        click.echo(f"  column renamed to {new!r}: {why}")
    if report.get("disaster_flags"):
        click.echo("  disaster flags: " + ", ".join(report["disaster_flags"]))
    if report.get("capacity_from"):
        click.echo(f"  capacity from: {report['capacity_from']}")
    click.echo(f"  rows read: {report['rows']}")
    click.echo(f"  rows mapped: {report['mapped']}")
    if report.get("skipped_blank"):
        click.echo(
            f"  blank lines skipped: {report['skipped_blank']} (rows {report['blank_rows']})"
        )
    click.echo(f"  rows repaired: {len(report['repaired'])}")
    for r in report["repaired"]:
        click.echo(f"    row {r['row']}: {r['how']}")
    click.echo(f"  rows rejected: {len(report['rejected'])}")
    for r in report["rejected"]:
        click.echo(f"    row {r['row']}: {r['reason']}")
    if report.get("warnings"):
        click.echo(f"  warnings: {len(report['warnings'])}")
        for w in report["warnings"]:
            where = f"row {w['row']}" if w.get("row") not in (None, "") else "file"
            click.echo(f"    {where}: {w['reason']}")
    for n in report.get("notes", []):
        click.echo(f"  note: {n}")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The GeoJSON file to write (common schema).",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@handle_errors
def convert(file: Path, output: Path, overwrite: bool) -> None:
    """Convert a data file (CSV, GeoJSON, KML, .umap) to GeoJSON in the common schema."""
    from civicmap.check import convert_file

    report = convert_file(file, output, overwrite=overwrite)
    click.echo(
        f"{output}: {report['mapped']} of {report['rows']} rows written "
        f"({len(report['repaired'])} repaired, {len(report['rejected'])} rejected; "
        f"run civicmap check {file} for details)"
    )


def _register_batch() -> None:
    from civicmap._cli_batch import batch_cmd

    batch_cmd.callback = handle_errors(batch_cmd.callback)
    main.add_command(batch_cmd)


_register_batch()
