"""``civicmap batch``: one map per area, on Dask (see :mod:`civicmap.batch`)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("batch")
@click.argument("map_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--each",
    required=True,
    help="The areas: a boundary file (町丁目 shapefile, 学区 GeoJSON) or municipalities:NN "
    "(the bundled N03 municipalities of prefecture NN, e.g. municipalities:17).",
)
@click.option("--name", "name_field", help="The attribute that names each area.")
@click.option("--where", help="Keep only areas with FIELD=VALUE[,VALUE...].")
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Folder for the area folders, manifest.csv/json and index.html.",
)
@click.option("--margin", type=float, default=200.0, show_default=True, help="Metres of context.")
@click.option("--workers", type=click.IntRange(0, 256), default=1, show_default=True,
              help="Worker processes of the local Dask cluster (0: no Dask, one by one).")  # fmt: skip
@click.option("--scheduler", help="Address of a running Dask scheduler (instead of --workers).")
def batch_cmd(
    map_file: Path,
    each: str,
    name_field: str | None,
    where: str | None,
    out_dir: Path,
    margin: float,
    workers: int,
    scheduler: str | None,
) -> None:
    """Build MAP_FILE once per area of --each (one folder per area, a manifest, an index page).

    A rerun skips areas whose outputs are complete and whose inputs did not change; an
    area that fails is listed in the manifest and the others are built.
    """
    from tqdm import tqdm

    from civicmap.batch import batch

    with tqdm(unit="地区", desc="batch", disable=None, leave=True) as bar:

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
        )
    for row in result.rows:
        if row["status"] == "failed":
            click.echo(f"failed: {row['name']}: {row['error']}", err=True)
    click.echo(
        f"{result.count('ok')} built, {result.count('skipped')} unchanged (skipped), "
        f"{result.count('failed')} failed; manifest: {result.manifest_csv}; "
        f"index: {result.index_html}"
    )
    if result.count("failed"):
        raise SystemExit(1)
