"""``civicmap check`` (validate a map, layer or data file) and ``civicmap layers``."""

from __future__ import annotations

from pathlib import Path

import click

from civicmap.cli.main import handle_errors, main


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
