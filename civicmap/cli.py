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
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s" if verbose else "%(message)s"))
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


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out"),
              show_default=True, help="Folder to write the demo maps into.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@handle_errors
def demo(out_dir: Path, overwrite: bool) -> None:
    """Build the bundled 新宿区 西早稲田 demo offline: a web map and an A4 paper map."""
    from civicmap.mapfile import load_map
    from civicmap.pipeline import build, demo_map_path, with_output_dir

    spec = with_output_dir(load_map(demo_map_path()), out_dir)
    written = build(spec, overwrite=overwrite)
    click.echo(f"Demo built: {spec.title}")
    _print_written(written)


@main.command()
@click.argument("map_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@click.option("--only", "only", multiple=True, type=click.Choice(["web", "paper", "umap", "geojson", "kml"]),
              help="Build only these outputs (repeatable).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write outputs into this folder instead of the paths in the map file.")
@handle_errors
def build(map_file: Path, overwrite: bool, only: tuple[str, ...], out_dir: Path | None) -> None:
    """Build the outputs named in MAP_FILE (web map, paper map, exports)."""
    from civicmap.mapfile import load_map
    from civicmap.pipeline import build as build_map
    from civicmap.pipeline import with_output_dir

    spec = load_map(map_file)
    if out_dir is not None:
        spec = with_output_dir(spec, out_dir)
    written = build_map(spec, overwrite=overwrite, formats=only or None)
    _print_written(written)


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
@handle_errors
def check(file: Path, as_json: bool) -> None:
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
            report = {"file": str(file), "kind": "layer", "ok": True, "id": layer.id,
                      "sources": [s.kind for s in layer.sources]}
        else:
            spec = load_map(file)
            report = {"file": str(file), "kind": "map", "ok": True, "title": spec.title,
                      "layers": [layer.id for layer in spec.layers], "outputs": sorted(spec.outputs)}
        if as_json:
            click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            click.echo(f"{file}: OK ({report['kind']})")
            click.echo(yaml.safe_dump({k: v for k, v in report.items() if k not in ("file", "ok")},
                                      allow_unicode=True, sort_keys=False).rstrip())
        return
    from civicmap.check import check_data_file

    check_data_file(file, as_json=as_json)
