"""The three builds whose bytes must not change by accident: the demo, the 金沢 atlas, a batch.

Issue 23 moved what a map file means into ``civicmap/spec/`` and promised the same outputs,
byte for byte, before and after. ``tests/render/test_golden_outputs.py`` keeps that promise for
every later change: it builds these three with ``SOURCE_DATE_EPOCH`` pinned and compares each
file's SHA-256 with ``tests/data/golden/outputs.json``. A change that is meant to alter an
output re-records the digests on purpose (``make golden``) and the diff of that file shows
which outputs moved.

Rendered bytes also depend on the drawing libraries, so the record names their versions; with
other versions the comparison is not meaningful and the test says so instead of failing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from importlib import metadata
from pathlib import Path

import yaml
from click.testing import CliRunner
from paper_maps import kanazawa_raw
from paths import DATA

from civicmap.cli import main

#: Where the digests are recorded.
GOLDEN = DATA / "golden" / "outputs.json"
#: The pinned clock of every golden build (2023-11-14).
EPOCH = "1700000000"
#: The libraries whose versions decide rendered bytes.
LIBRARIES = ("folium", "geopandas", "matplotlib", "numpy", "pandas", "pyproj",
             "reportlab", "shapely", "pyogrio", "janome")  # fmt: skip

ISHIKAWA_CSV = DATA / "shelters" / "ishikawa" / "170003_evacuation_space.csv"
#: A batch's own bookkeeping: the re-run state (input paths and times) is not an output.
STATE = ".civicmap-batch.json"
#: Manifest fields that measure the run (time taken), not what was built.
TIMINGS = ("seconds", "cpu_seconds")


def versions() -> dict[str, str]:
    """The installed version of each library in :data:`LIBRARIES` (``"-"`` when absent)."""
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "-"
    return found


def _digest(path: Path) -> str:
    """SHA-256 of an output, a manifest's timing fields left out (they measure the machine)."""
    data = path.read_bytes()
    if path.name == "manifest.json":
        doc = json.loads(data)
        for row in doc.get("rows", []):
            for key in TIMINGS:
                row.pop(key, None)
        data = json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()
    elif path.name == "manifest.csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        keep = [i for i, col in enumerate(rows[0]) if col not in TIMINGS]
        data = json.dumps([[row[i] for i in keep] for row in rows], ensure_ascii=False).encode()
    return hashlib.sha256(data).hexdigest()


def _run(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["--lang", "ja", *args], catch_exceptions=False)
    if result.exit_code != 0:
        raise AssertionError(f"civicmap {' '.join(args)} failed:\n{result.output}")


def _kanazawa_atlas(folder: Path) -> None:
    raw = kanazawa_raw()
    raw["outputs"] = {"paper": {"file": "out/atlas.pdf", "atlas": True, "scale": 10000,
                                "size": "A3"}}  # fmt: skip
    (folder / "map.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    _run(["build", str(folder / "map.yaml")])


def ishikawa_map(folder: Path) -> Path:
    """Write the 石川県 evacuation-site map (one CSV layer, web + paper + GeoJSON) into ``folder``.

    The one definition of the batch map: the golden batch and ``tests/test_batch.py`` build it.
    Returns the map file's path.
    """
    shutil.copy(ISHIKAWA_CSV, folder / "basho.csv")
    (folder / "basho.yaml").write_text(
        "id: basho\ntitle: {ja: 指定緊急避難場所, en: Evacuation sites}\n"
        "sources:\n  - csv: {path: basho.csv}\n"
        'style: {color: "#2f9e44", symbol: triangle}\n',
        encoding="utf-8",
    )
    (folder / "map.yaml").write_text(
        "title: 避難場所マップ\narea: {bbox: [136.2, 36.0, 137.4, 37.9]}\nosm: false\n"
        "basemap: {draw: false}\nlayers: [basho.yaml]\n"
        "outputs:\n  geojson: {file: out/map.geojson}\n"
        "  web: {file: out/map.html, self_contained: true}\n  paper: {file: out/map.pdf, size: A4}\n",
        encoding="utf-8",
    )
    return folder / "map.yaml"


def _batch(folder: Path) -> None:
    mapfile = ishikawa_map(folder)
    _run(["batch", str(mapfile), "--each", "municipalities:17",
          "--where", "name=かほく市,羽咋市,珠洲市", "--workers", "0",
          "--out", str(folder / "out")])  # fmt: skip


def build_all(folder: Path) -> dict[str, str]:
    """Build the three into ``folder``; the SHA-256 of every output file, by relative path.

    The caller pins ``SOURCE_DATE_EPOCH`` (the test through monkeypatch, ``make golden``
    through the environment).
    """
    builds = {"demo": None, "kanazawa": _kanazawa_atlas, "batch": _batch}
    digests: dict[str, str] = {}
    for name, build in builds.items():
        here = folder / name
        here.mkdir(parents=True)
        if build is None:
            _run(["demo", "--out", str(here / "out")])
        else:
            build(here)
        for path in sorted((here / "out").rglob("*")):
            if path.is_file() and path.name != STATE:
                rel = f"{name}/{path.relative_to(here / 'out').as_posix()}"
                digests[rel] = _digest(path)
    return digests


def record(folder: Path) -> None:
    """Build the three and write :data:`GOLDEN` (what ``make golden`` runs)."""
    digests = build_all(folder)
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    doc = {"epoch": EPOCH, "versions": versions(), "files": digests}
    text = json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True)
    GOLDEN.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    import os
    import tempfile

    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    with tempfile.TemporaryDirectory() as tmp:
        record(Path(tmp))
    print(f"recorded {GOLDEN}")
