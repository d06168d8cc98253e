"""``civicmap batch``: one map per area, on Dask (see :mod:`civicmap.batch`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from civicmap.batch import BatchProgress, batch
from civicmap.cli.main import handle_errors, main, say
from civicmap.cli.options import (
    allow_private_option,
    area_selection_options,
    map_file_argument,
    offline_option,
)
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
@area_selection_options(
    where_help=N_(
        "Keep only areas with FIELD=VALUE[,VALUE...]; repeat it to require several "
        "(e.g. --where GST_NAME=鳥取市 --where MOJI=伏野)."
    )
)
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
@click.option(
    "--scheduler",
    help=N_(
        "tls:// address of a running Dask scheduler (instead of --workers), reached with "
        "the TLS certificates of your Dask configuration."
    ),
)
@click.option(
    "--insecure-scheduler",
    is_flag=True,
    help=N_(
        "Also accept a tcp:// scheduler, without encryption or authentication: whoever runs "
        "or can reach that address can run programs on this computer as you. Only on a "
        "network you trust."
    ),
)
@click.option(
    "--area-timeout",
    type=float,
    default=600.0,
    show_default=True,
    metavar="SECONDS",
    help=N_("Stop an area's build after this many seconds (failed in the manifest; 0: no limit)."),
)
@click.option(
    "--area-memory",
    type=float,
    default=0.0,
    metavar="MB",
    help=N_(
        "Stop an area's build when its worker grows by more than this many MB (failed in the "
        "manifest; 0, the default: no limit)."
    ),
)
@offline_option
@allow_private_option
@handle_errors
def batch_cmd(
    map_file: Path,
    each: str,
    name_field: str | None,
    where: tuple[str, ...],
    out_dir: Path,
    margin: float,
    workers: int,
    scheduler: str | None,
    insecure_scheduler: bool,
    area_timeout: float,
    area_memory: float,
    offline: bool,
    allow_private_urls: bool,
) -> None:
    from tqdm import tqdm

    quiet = bool(click.get_current_context().find_root().params.get("quiet"))
    disable = True if quiet else None  # None: a bar on a terminal only
    with tqdm(unit="area", desc="batch", disable=disable, leave=False, file=sys.stderr) as bar:
        result = batch(
            map_file,
            each=each,
            out_dir=out_dir,
            name_field=name_field,
            where=list(where),
            margin_m=margin,
            workers=workers,
            scheduler=scheduler,
            insecure_scheduler=insecure_scheduler,
            progress=_Reporter(bar, quiet=quiet),
            offline=True if offline else None,
            area_timeout_s=area_timeout,
            area_memory_mb=area_memory,
            allow_private_urls=allow_private_urls,
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


def _duration(seconds: float) -> str:
    """``1 min 20 s`` / ``1 時間 5 分`` in the message language."""
    s = round(seconds)
    if s >= 3600:
        return _("%(h)d h %(m)d min") % {"h": s // 3600, "m": s % 3600 // 60}
    if s >= 60:
        return _("%(m)d min %(s)d s") % {"m": s // 60, "s": s % 60}
    return _("%(s)d s") % {"s": s}


class _Reporter:
    """Progress of a batch: the tqdm bar on a terminal, else a line every few seconds.

    A batch of 677 町丁目 runs for an hour; whoever started it (or reads its log) sees how
    many areas are done and how long is left, also while a slow area is being built.
    """

    #: Seconds between two progress lines when the output is not a terminal (a log file).
    LINE_EVERY_S = 5.0

    def __init__(self, bar, *, quiet: bool) -> None:
        self.bar = bar
        self.quiet = quiet
        self.last_line = 0.0

    def __call__(self, p: BatchProgress) -> None:
        if not self.bar.disable:
            self.bar.total = p.total
            self.bar.n = p.done
            if p.row is not None:
                self.bar.set_postfix_str(f"{p.row['name']} {p.row['status']}", refresh=False)
            self.bar.refresh()
            return
        now = time.monotonic()
        if self.quiet or (now - self.last_line < self.LINE_EVERY_S and p.done < p.total):
            return
        self.last_line = now
        if p.left_s is None:
            text = _("batch: %(done)d / %(total)d areas done (%(elapsed)s so far)") % {
                "done": p.done,
                "total": p.total,
                "elapsed": _duration(p.elapsed_s),
            }
        else:
            text = _(
                "batch: %(done)d / %(total)d areas done, %(failed)d failed, about %(left)s left"
            ) % {
                "done": p.done,
                "total": p.total,
                "failed": p.failed,
                "left": _duration(p.left_s),
            }
        click.echo(text, err=True)
