"""Every data file in tests/data: rows, mapped, rejected, named, with address, with category.

``make bench`` runs this after the speed benchmarks (issue 29): a regression in
header detection or in finding the name column shows at once as a changed row.
The table goes to stdout and to ``bench/RESULTS-names.md``.

Usage::

    .venv/bin/python bench/bench_names.py
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from civicmap.errors import CivicMapError
from civicmap.sources import kind_for_path, read_path
from civicmap.sources._guess import place_counts

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SUFFIXES = {".csv", ".txt", ".xlsx", ".xls", ".ods", ".geojson", ".json", ".kml", ".umap", ".shp"}
# osm extracts, area boundaries, web fixtures, hazard zones (polygons, not places) and the
# recorded digests of tests/golden.py (not a data file)
SKIP_DIRS = {"osm", "boundaries", "web", "hazards", "golden"}


def files() -> list[Path]:
    """The place files under tests/data (OSM extracts and boundaries left out)."""
    return sorted(
        p
        for p in DATA.rglob("*")
        if p.suffix.lower() in SUFFIXES and not SKIP_DIRS & set(p.relative_to(DATA).parts)
    )


def row(path: Path) -> dict[str, object]:
    """One file's figures, or its one-line error."""
    rel = str(path.relative_to(DATA))
    try:
        kind = kind_for_path(path)
        opts = {"_require_coordinates": False} if kind in ("csv", "excel") else {}
        result = read_path(path, layer="bench", options=opts)
    except CivicMapError as exc:
        return {"file": rel, "error": str(exc).splitlines()[0][:80]}
    counts = place_counts(result.features)
    return {
        "file": rel,
        "rows": result.info.get("rows", ""),
        "mapped": counts["places"],
        "rejected": len(result.rejected),
        "skipped": result.info.get("skipped_blank", 0),
        "named": counts["named"],
        "address": counts["with_address"],
        "category": counts["with_category"],
        "name_column": (result.info.get("columns") or {}).get("name") or "",
    }


def table(rows: list[dict[str, object]]) -> str:
    head = (
        "| file | rows | mapped | rejected | skipped | named | address | category | name column |"
    )
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['file']} | error: {r['error']} |||||||| |")
            continue
        lines.append(
            "| {file} | {rows} | {mapped} | {rejected} | {skipped} | {named} | {address} | "
            "{category} | {name_column} |".format(**r)
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    logging.disable(logging.WARNING)
    text = table([row(p) for p in files()])
    sys.stdout.write(text)
    (ROOT / "bench" / "RESULTS-names.md").write_text(
        "# Every test-data file: places and names (bench/bench_names.py)\n\n" + text,
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
