"""Compare civicmap's .umap with what a real uMap stored after importing it.

``python compare.py OURS.umap FROM_UMAP.umap`` checks, layer by layer (matched by name, in
order): the feature count; every feature (matched by geometry) keeps every property and
value; per-feature ``_umap_options`` (per-category colour, iconUrl, popup template) are
kept; the layer options civicmap sets (name, description, color, iconUrl, iconClass,
popupTemplate, popupContentTemplate, labelKey) are kept. Also ``civicmap.read_path`` reads
uMap's download back with the same layer names and feature count. Prints one line per
check and exits 1 if any failed. Standard library + civicmap only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

LAYER_KEYS = (
    "name",
    "description",
    "color",
    "fillColor",
    "iconClass",
    "iconUrl",
    "popupTemplate",
    "popupContentTemplate",
    "labelKey",
)


def _opts(layer: dict) -> dict:
    out: dict = {}
    for key in ("_storage", "_umap_options", "properties"):
        if isinstance(layer.get(key), dict):
            out.update(layer[key])
    return out


def _key(feat: dict) -> str:
    return json.dumps(feat["geometry"], sort_keys=True) + "|" + str(feat["properties"].get("name"))


def _walk(layers: list) -> list[dict]:
    out = []
    for layer in layers:
        out.append(layer)
        out += _walk(layer.get("layers") or [])
    return out


def compare(ours_path: Path, theirs_path: Path) -> list[tuple[bool, str]]:
    ours = json.loads(ours_path.read_text(encoding="utf-8"))
    theirs = json.loads(theirs_path.read_text(encoding="utf-8"))
    checks: list[tuple[bool, str]] = []
    ol, tl = _walk(ours["layers"]), _walk(theirs["layers"])
    checks.append((len(ol) == len(tl), f"layers: ours {len(ol)}, uMap {len(tl)}"))
    for a, b in zip(ol, tl, strict=False):
        ao, bo = _opts(a), _opts(b)
        name = ao.get("name")
        checks.append(
            (ao.get("name") == bo.get("name"), f"layer name {name!r} -> {bo.get('name')!r}")
        )
        for k in LAYER_KEYS:
            if k in ao and ao[k] is not None:
                checks.append((ao[k] == bo.get(k), f"layer {name!r} option {k} kept"))
        af, bf = a.get("features") or [], b.get("features") or []
        checks.append((len(af) == len(bf), f"layer {name!r}: {len(af)} features -> {len(bf)}"))
        bmap = {_key(f): f for f in bf}
        lost_props, lost_opts, missing = [], [], 0
        for f in af:
            g = bmap.get(_key(f))
            if g is None:
                missing += 1
                continue
            for pk, pv in f["properties"].items():
                if pk == "_umap_options":
                    if g["properties"].get(pk) != pv:
                        lost_opts.append(f["properties"].get("name"))
                elif g["properties"].get(pk) != pv:
                    lost_props.append(f"{f['properties'].get('name')}.{pk}")
        checks.append(
            (
                missing == 0,
                f"layer {name!r}: every feature found by geometry+name ({missing} missing)",
            )
        )
        checks.append(
            (not lost_props, f"layer {name!r}: every property and value kept {lost_props[:5]}")
        )
        checks.append(
            (
                not lost_opts,
                f"layer {name!r}: per-feature style/popup template kept {lost_opts[:5]}",
            )
        )
        cats = {
            (
                f["properties"].get("category"),
                json.dumps(f["properties"].get("_umap_options"), sort_keys=True),
            )
            for f in bf
        }
        checks.append(
            (
                True,
                f"layer {name!r}: {len({c for c, _ in cats})} categories, {len(cats)} distinct per-feature option sets (colour, icon, popup template) in uMap",
            )
        )
    try:
        import civicmap

        res = civicmap.read_path(theirs_path, layer="roundtrip")
        layer_names = [_opts(x).get("name") for x in tl]
        checks.append(
            (
                res.info["umap_layers"] == layer_names,
                f"civicmap reads uMap's download: layers {res.info['umap_layers']}",
            )
        )
        n = sum(len(x.get("features") or []) for x in tl)
        checks.append(
            (
                len(res.features) == n and not res.rejected,
                f"civicmap reads {len(res.features)} of {n} features, {len(res.rejected)} rejected",
            )
        )
    except ImportError:
        checks.append((False, "civicmap not importable: run with the project's .venv/bin/python"))
    return checks


if __name__ == "__main__":
    results = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    for ok, msg in results:
        print(("ok   " if ok else "FAIL ") + msg)
    failed = sum(not ok for ok, _ in results)
    print(f"{len(results) - failed} ok, {failed} failed")
    sys.exit(1 if failed else 0)
