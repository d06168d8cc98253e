"""``civicmap batch``: one map per area, on Dask (see :mod:`civicmap.batch`)."""

from __future__ import annotations

from pathlib import Path

import click

from civicmap.cli.main import handle_errors, main, say
from civicmap.cli.options import map_file_argument
from civicmap.i18n import N_, _


@main.command(
    "batch",
    help=N_(
        "Build MAP_FILE once per area of --each (one folder per area, a manifest, an index "
        "page). A rerun skips areas whose outputs are complete and whose inputs did not "
        "change; an area that fails is listed in the manifest and the others are built."
    ),
)
@map_file_argument
@click.option(
    "--each",
    required=True,
    help=N_(
        "The areas: a boundary file (町丁目 shapefile, 学区 GeoJSON) or municipalities:NN "
        "(the bundled N03 municipalities of prefecture NN, e.g. municipalities:17)."
    ),
)
@click.option("--name", "name_field", help=N_("The attribute that names each area."))
@click.option("--where", help=N_("Keep only areas with FIELD=VALUE[,VALUE...]."))
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    help=N_("Folder for the area folders, manifest.csv/json and index.html."),
)
@click.option(
    "--margin", type=float, default=200.0, show_default=True, help=N_("Metres of context.")
)
@click.option(
    "--workers",
    type=click.IntRange(0, 256),
    default=1,
    show_default=True,
    help=N_("Worker processes of the local Dask cluster (0: no Dask, one by one)."),
)
@click.option("--scheduler", help=N_("Address of a running Dask scheduler (instead of --workers)."))
@click.option(
    "--offline",
    is_flag=True,
    help=N_("Use no network: only the offline pack, local files and the cache."),
)
@handle_errors
def batch_cmd(
    map_file: Path,
    each: str,
    name_field: str | None,
    where: str | None,
    out_dir: Path,
    margin: float,
    workers: int,
    scheduler: str | None,
    offline: bool,
) -> None:
    import sys

    from tqdm import tqdm

    from civicmap.batch import batch

    with tqdm(unit="area", desc="batch", disable=None, leave=False, file=sys.stderr) as bar:

        def tick(row: dict) -> None:
            bar.update(1)
            bar.set_postfix_str(f"{row['name']} {row['status']}")

        result = batch(
            map_file,
            each=each,
            out_dir=out_dir,
            name_field=name_field,
            where=where,
            margin_m=margin,
            workers=workers,
            scheduler=scheduler,
            progress=tick,
            offline=True if offline else None,
        )
    for row in result.rows:
        if row["status"] == "failed":
            click.echo(
                _("failed: %(name)s: %(error)s") % {"name": row["name"], "error": row["error"]},
                err=True,
            )
    say(
        _(
            "%(ok)d built, %(skipped)d unchanged (skipped), %(failed)d failed; "
            "manifest: %(manifest)s; index: %(index)s"
        )
        % {
            "ok": result.count("ok"),
            "skipped": result.count("skipped"),
            "failed": result.count("failed"),
            "manifest": result.manifest_csv,
            "index": result.index_html,
        }
    )
    if result.count("failed"):
        raise SystemExit(1)
