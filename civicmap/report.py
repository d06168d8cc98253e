"""The quality report: what happened to each layer's rows between reading and drawing.

:class:`~civicmap.mapdata.LayerReport` holds the counts and the reasons; this
module turns them into what a user reads after a build: one summary line per
layer, and one row per reason for a CSV (``civicmap build --report``). A
volunteer who finds a nursery missing from the printed map looks here first,
so every rejected, repaired or removed row and every source warning is listed,
never only counted. No printing and no files here: :mod:`civicmap.cli` does that.
"""

from __future__ import annotations

import csv
import io
import logging
from typing import Any

from civicmap._files import spreadsheet_cell
from civicmap.i18n import _
from civicmap.mapdata import LayerData, MapData

log = logging.getLogger(__name__)

#: Columns of :func:`quality_rows`, in CSV order.
REPORT_COLUMNS = ("layer", "kind", "source", "row", "reason")

#: Row kinds, in the order they are listed.
KINDS = ("rejected", "repaired", "removed", "merged", "warning", "hazard")


def _warning_reason(w: Any) -> tuple[str, str, str]:
    """(source, row, reason) of one source warning (a dict from ``SourceResult.info``)."""
    if isinstance(w, dict):
        reason = str(w.get("reason") or w.get("message") or "")
        if not reason:
            reason = ", ".join(f"{k}={v}" for k, v in w.items() if k not in ("source", "row"))
        return str(w.get("source", "")), str(w.get("row", "")), reason
    return "", "", str(w)


def layer_rows(layer: LayerData) -> list[dict[str, str]]:
    """Every reason row of one layer (see :func:`quality_rows`)."""
    rep = layer.report
    out: list[dict[str, str]] = []
    for kind, problems in (
        ("rejected", rep.rejected),
        ("repaired", rep.repaired),
        ("removed", rep.removed),
    ):
        for p in problems:
            out.append(
                {"layer": layer.id, "kind": kind, "source": str(p.source), "row": str(p.row),
                 "reason": str(p.reason)}
            )  # fmt: skip
    for m in getattr(rep, "site_merges", []):
        source, row, reason = _warning_reason(m)
        out.append(
            {"layer": layer.id, "kind": "merged", "source": source, "row": row, "reason": reason}
        )
    for w in rep.warnings:
        source, row, reason = _warning_reason(w)
        out.append(
            {"layer": layer.id, "kind": "warning", "source": source, "row": row, "reason": reason}
        )
    return out


def quality_rows(data: MapData) -> list[dict[str, str]]:
    """One dict per reason, for every layer of the map, in map-file order.

    Keys are :data:`REPORT_COLUMNS`: ``layer``, ``kind`` (one of :data:`KINDS`),
    ``source`` (file name or ``osm``), ``row`` (spreadsheet row number as a
    user sees it, or a reference such as ``file.csv:17`` / ``way/123``) and
    ``reason`` (what happened and, for bad input, what to fix).
    """
    rows = [row for layer in data.layers for row in layer_rows(layer)]
    for message in getattr(data, "build_messages", []):  # the map's own (routes), not a layer's
        rows.append({"layer": "", "kind": "warning", "source": "", "row": "", "reason": message})
    return rows + hazard_rows(data)


def hazard_rows(data: MapData) -> list[dict[str, str]]:
    """One ``hazard`` row per shelter site a hazard speaks of: its lines, as the maps print them.

    Sites inside a zone (with their flag, if any) and sites the hazard data does
    not reach (「情報なし」); a site outside every zone is left out. A volunteer
    checks the list against the municipality's own hazard map.
    """
    hz = getattr(data, "hazards", None)
    if hz is None:
        return []
    out = []
    for layer in data.layers:
        frame = layer.features
        for label in frame.index:
            site = hz.sites.get((layer.id, label))
            if site is None or not site.speaks:
                continue
            row = frame.loc[label]
            out.append(
                {"layer": layer.id, "kind": "hazard", "source": str(row.get("source_ref", "")),
                 "row": str(row.get("name", "")), "reason": " / ".join(site.lines)}
            )  # fmt: skip
    return out


def summary_line(layer: LayerData) -> str:
    """One line of counts for a layer: read, shown, merged, deduplicated, clipped, ..."""
    r = layer.report
    parts = [
        _("read %(n)d") % {"n": r.read},
        _("shown %(n)d") % {"n": len(layer.features)},
        _("merged %(n)d") % {"n": r.merged},
        _("deduplicated %(n)d") % {"n": r.deduplicated},
        _("clipped %(n)d") % {"n": r.clipped},
        _("rejected %(n)d") % {"n": len(r.rejected)},
        _("repaired %(n)d") % {"n": len(r.repaired)},
    ]
    if getattr(r, "site_merges", None):
        parts.append(_("merged into sites %(n)d") % {"n": len(r.site_merges)})
    if r.warnings:
        parts.append(_("warnings %(n)d") % {"n": len(r.warnings)})
    return f"{layer.id}: " + _(", ").join(parts)


def summary_lines(data: MapData) -> list[str]:
    """One summary line per layer (see :func:`summary_line`), in map-file order."""
    return [summary_line(layer) for layer in data.layers]


def csv_text(rows: list[dict[str, str]]) -> str:
    """The reason rows as CSV text (header :data:`REPORT_COLUMNS`, CRLF line ends).

    Written by the CLI as UTF-8 with a BOM, so Excel in Japan opens it
    without garbling the Japanese reasons.
    """
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=REPORT_COLUMNS, lineterminator="\r\n")
    w.writeheader()
    w.writerows({k: spreadsheet_cell(v) for k, v in r.items()} for r in rows)  # no formulas
    return buf.getvalue()
