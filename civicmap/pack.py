"""Offline packs: everything a map needs from OpenStreetMap, in one folder.

``civicmap fetch MAP.yaml`` asks Overpass for the map's layers, basemap and
walking street network and stores the answers, byte for byte, in a folder
(the map's ``osm: {pack: ...}``, or ``-o PACK``)::

    pack/
      manifest.json          what was fetched, from where, the osm_base, a SHA-256 per answer
      <hash>.osm, <hash>.json   one answer and its checksum per query
      tiles/<source>/z/x/y.png, tiles.json   background tiles and their SHA-256s

A build whose map names an existing pack reads only from it, never from the
network, and parses the same bytes with the same code, so the rebuild equals
the online build. A query the pack lacks (the map changed) fails with a
message saying to fetch again.

A pack is made to be handed around, so a build reads it as untrusted data
(:func:`civicmap._packfiles.read_pack_entry`): every entry must be a plain
file inside the pack (no symbolic link, also none for a folder on the way, no
device or FIFO), within a size cap, and match the checksum the manifest records.
A bad entry is refused with one line naming it; it is never followed, read
further or copied into an output. A pack made before checksums is still read
(said once), with every other check.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from civicmap import _http, hazard_tiles
from civicmap._files import replace_output
from civicmap._outputs import Output, check_output, guarded_outputs, is_pack_folder
from civicmap._transport import excerpt
from civicmap.area import resolve_area
from civicmap.errors import CivicMapError, NetworkError
from civicmap.i18n import _
from civicmap.pipeline import _osm_file, _osm_filters, collect, map_inputs, with_pack
from civicmap.render import tiles
from civicmap.render.paper import render_paper
from civicmap.render.paper.readability import UnreadableSheetError
from civicmap.render.tiles import cache_fix
from civicmap.sources import overpass, read_file_source, remote, streets, umap
from civicmap.sources.overpass import PACK_FORMAT, read_manifest
from civicmap.spec.mapfile import MapSpec

__all__ = ["PACK_FORMAT", "PackInfo", "fetch_pack", "pack_path", "read_manifest", "with_pack"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackInfo:
    """What ``civicmap fetch`` wrote.

    Attributes
    ----------
    folder : Path
        The pack folder.
    osm_base : str
        The OSM data timestamp of the answers (the oldest when they differ).
    queries : list of (str, int)
        (what, bytes) per stored answer.
    """

    folder: Path
    osm_base: str
    queries: list[tuple[str, int]]
    #: The background tiles stored (the manifest's ``tiles`` entry), or None.
    tiles: dict | None = None
    #: The remote sources' copies stored (the manifest's ``remote`` records).
    remote: tuple[dict, ...] = ()

    @property
    def total_bytes(self) -> int:
        return sum(n for _, n in self.queries)


def pack_path(spec: MapSpec, out: str | Path | None = None) -> Path:
    """Where the pack goes: ``out``, else the map's ``osm.pack``, else ``settings.default_pack``."""
    if out is not None:
        return Path(out).resolve()
    return spec.pack_dir()


def fetch_pack(
    spec: MapSpec,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    refresh: bool = False,
    streets_network: bool = True,
) -> PackInfo:
    """Download everything ``spec`` needs from Overpass into an offline pack.

    Parameters
    ----------
    spec : MapSpec
        The map. Its ``osm.overpass_url`` (or ``settings.overpass_url``) is used.
    out : path, optional
        The pack folder (default: the map's ``osm.pack``, else ``osm-pack``
        next to the map file).
    overwrite : bool
        Replace an existing pack.
    refresh : bool
        Ask Overpass again even for answers in the response cache.
    streets_network : bool
        Also store the walking street network (for walking distances).

    Raises
    ------
    OutputExistsError
        When the pack exists and ``overwrite`` is false (checked before any download).
    OutputRefusedError
        When the folder is, holds or lies in an input (``pack: "."`` holds the map file)
        or is a folder that is not a pack: never replaced, not even with ``overwrite``.
    OutputBusyError
        When another run is writing into the same folder.
    CivicMapError
        When the map reads OSM from a local file (nothing to fetch).
    NetworkError, OfflineError
        When Overpass fails; no pack (not even a partial one) is left behind.
    """
    target = pack_path(spec, out)
    pack = Output(target, folder=True, ours=is_pack_folder)
    # never the project folder (pack: "."), an input, or a folder that is not a pack
    with guarded_outputs([pack], inputs=map_inputs(spec, pack=False), overwrite=overwrite):
        return _fetch_into(spec, target, overwrite=overwrite, refresh=refresh,
                           streets_network=streets_network)  # fmt: skip


def _fetch_into(
    spec: MapSpec, target: Path, *, overwrite: bool, refresh: bool, streets_network: bool
) -> PackInfo:
    extract = _osm_file(spec)
    if extract is not None and not spec.osm.disabled and spec.basemap.source is not None:
        # a pack replaces the extract, and one without OSM answers cannot: the cache keeps tiles
        raise CivicMapError(
            _(
                "%(spec_file)s: the map reads OSM data from a local extract (%(extract)s), so "
                "an offline pack is not needed for it; for its background tiles, %(fix)s. Use "
                "osm: {overpass: true} to fetch everything from Overpass into a pack"
            )
            % {"spec_file": spec.file, "extract": extract, "fix": cache_fix()}
        )
    if extract is not None and not spec.osm.disabled:
        raise CivicMapError(
            _(
                "%(spec_file)s: the map reads OSM data from a local extract (%(extract)s), "
                "which already works offline; nothing to fetch. Use osm: {overpass: true} to "
                "fetch from Overpass"
            )
            % {"spec_file": spec.file, "extract": extract}
        )
    url = overpass.endpoint(spec)
    area = resolve_area(spec.area, base_dir=spec.base_dir)
    filters, types = _osm_filters(spec)
    plan = [
        (what, query) for what, query, _ in overpass.plan_for_map(spec, area, filters, types=types)
    ]
    if spec.osm.disabled:  # osm: false: the pack holds only the background tiles
        plan, streets_network = [], False
    if streets_network:
        plan.append(("the walking street network", streets.walking_query(area)))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    try:
        entries = []
        bases = []
        for what, query in plan:
            resp = _http.overpass(query, url=url, refresh=refresh, what=what)
            # refuse an answer the build could not read, before it goes into the pack
            overpass.read_answer(resp.body, {}, label=f"Overpass ({what})")
            key = overpass.pack_key(query)
            _http.write_entry(key, resp, tmp, extra={"what": what})
            entries.append(
                {
                    "what": what,
                    "key": key,
                    "bytes": len(resp.body),
                    # a build refuses an answer that no longer matches (overpass.pack_checksum)
                    "sha256": hashlib.sha256(resp.body).hexdigest(),
                    "osm_base": resp.osm_base,
                }
            )
            if resp.osm_base:
                bases.append(resp.osm_base)
        stored = fetch_pack_remote(spec, tmp, refresh=refresh)
        manifest = {
            "format": PACK_FORMAT,
            "map": spec.title,
            "map_file": str(spec.file),
            "overpass_url": url,
            "area_bounds": list(area.bounds),
            "osm_base": min(bases) if bases else "",
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "queries": entries,
            **({remote.FOLDER: stored} if stored else {}),
        }
        (tmp / overpass.MANIFEST).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        tiles = fetch_pack_tiles(spec, tmp)
        if tiles:  # the per-tile checksums stay in the tiles' own tiles.json
            hazard_sets = tiles.pop("hazards", None)
            if "source" in tiles:
                manifest["tiles"] = {k: v for k, v in tiles.items() if k != "sha256"}
            if hazard_sets:  # ハザードマップポータルサイト tile sets, 404s as no_zone
                manifest["hazard_tiles"] = hazard_sets
            (tmp / overpass.MANIFEST).write_text(
                json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
            )
        # checked again just before: only a pack is ever replaced (old one moved aside first)
        check_output(target, overwrite=overwrite, folder=True, ours=is_pack_folder)
        replace_output(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info(
        _("offline pack written to %(target)s (%(n)d answers, OSM data as of %(osm_base)s)"),
        {"target": target, "n": len(entries), "osm_base": manifest["osm_base"]},
    )
    return PackInfo(
        target,
        manifest["osm_base"],
        [(e["what"], e["bytes"]) for e in entries],
        tiles=manifest.get("tiles"),
        remote=tuple(stored),
    )


def fetch_pack_remote(spec: MapSpec, pack: Path, *, refresh: bool = False) -> list[dict]:
    """Store in ``pack`` a copy of every remote source (``url:``) of the map; return their records.

    Each copy is got as a build gets it (:func:`civicmap.sources.remote.local_copy`: a
    copy younger than the source's ``refresh`` is used, else the server is asked, and a
    failed refresh keeps the last good copy with a warning saying how old it is), read
    once to make sure it is a file of its kind, and stored with its fetch time, which
    dates the map built from the pack.
    """
    records: list[dict] = []
    seen: set[str] = set()
    with _http.refreshing(refresh):
        for layer in spec.layers:
            for src in layer.sources:
                # a url: source, or a .umap file's remote-data layers (fetched as it is read)
                if src.remote is not None:
                    wanted = [src.remote]
                elif src.kind == "umap" and src.path is not None:
                    wanted = umap.remote_specs(src.path)
                else:
                    continue
                wanted = [w for w in wanted if remote.copy_key(w.url) not in seen]
                if not wanted:
                    continue
                read_file_source(src, layer=layer.id, offline=False)
                for spec_ in wanted:
                    copy, _damaged = remote.cached_copy(spec_)
                    if copy is None:  # a uMap layer that could not be fetched (warned)
                        continue
                    records.append(remote.store_in_pack(pack, spec_, copy, layer=layer.id))
                    seen.add(remote.copy_key(spec_.url))
    for r in records:
        log.info(
            _("offline pack: %(name)s of layer %(layer)s (%(bytes)d bytes, fetched %(when)s)"),
            {"name": r["name"], "layer": r["layer"], "bytes": r["bytes"],
             "when": remote.when_text(r["fetched"])},
        )  # fmt: skip
    return records


def _no_pack_tiles(fetcher: tiles.TileFetcher) -> str:
    svc = _http.service(fetcher.service_key)
    return _(
        "the background tiles (%(service)s) could not be stored in the offline pack: "
        "%(why)s; no pack was written. Run civicmap fetch again where the tile server "
        "can be reached, or use basemap.tiles: none"
    ) % {"service": svc.label(), "why": fetcher.broken}


def fetch_pack_tiles(spec: MapSpec, pack: Path) -> dict | None:
    """Store in ``pack`` every tile the map's outputs use (``civicmap fetch``); return the manifest.

    The paper map is laid out once, in memory, with the tiles recorded as it
    draws them: the pack then holds exactly the tiles (zooms, extent, atlas
    pages) an offline rebuild asks for, each once. The web map adds the area at
    :func:`~civicmap.render.tiles.web_zooms`. OSM's tiles are never stored (their policy).
    The map's ハザードマップポータルサイト tile sets (``hazards: [flood-max]``) are
    stored the same way, with the tiles the portal answered 404 for listed as
    "no zone" (:func:`civicmap.hazard_tiles.write_pack`); their manifests are the
    returned dict's ``hazards`` entry.

    Returns
    -------
    dict or None
        The background tiles' manifest (``{"hazards": [...]}`` alone when the map
        stores only hazard tiles), or None when nothing was stored.

    Raises
    ------
    CivicMapError
        When every tile failed (nothing usable to store).
    """
    source = spec.basemap.source
    if source is not None and not source.storable:
        log.info(
            _("tiles %(source_id)s are web-only and online-only (their terms): not stored"),
            {"source_id": source.id},
        )
        source = None
    hazard_tiles_used = any(h.tiles for h in spec.hazards)
    if source is None and not hazard_tiles_used:
        return None
    local = replace(spec, osm=replace(spec.osm, pack=str(Path(pack).resolve())))
    with tiles.recording() as rec:
        fetcher = tiles.fetcher_for(local) if source is not None else None
        if fetcher is not None:
            fetcher.quiet = True
            if not fetcher.usable():  # no network: one line, before anything is drawn
                raise NetworkError(_no_pack_tiles(fetcher))
        data = None
        if spec.paper is not None or hazard_tiles_used:
            data = collect(local)  # the hazard tiles under every shelter site are read here
        if spec.paper is not None:
            try:
                render_paper(data, options=spec.paper)
            except UnreadableSheetError:  # every layout tried drew its tiles; the build says why
                log.info(_("the paper map is too crowded to build as it is; its tiles are stored"))
        # the page's zooms (a site's page too)
        if (spec.web is not None or spec.site is not None) and fetcher is not None:
            area = resolve_area(spec.area, base_dir=spec.base_dir)
            bounds = area.geometry.bounds
            fetcher.get_many(
                t
                for z in tiles.web_zooms(bounds, source)
                for t in tiles.tiles_for_bounds(bounds, z)
            )
        loaded = data.hazards.layers if data is not None and data.hazards is not None else []
        if loaded and (spec.web is not None or spec.site is not None):  # the page's zooms too
            hazard_tiles.fetch_web_tiles(loaded, tuple(data.area.geometry.bounds))
    hazards = hazard_tiles.write_pack(pack, loaded, rec)
    for h in hazards:
        log.info(
            _("offline pack: %(count)d hazard tiles of %(source_id)s, %(n)d with no zone"),
            {"count": h["count"], "source_id": h["source"], "n": len(h["no_zone"])},
        )
    if fetcher is None:
        return {"hazards": hazards}
    got = rec.get(source.cache_id, {})
    if fetcher.broken:  # a pack with holes where the server gave up: none at all
        raise NetworkError(_no_pack_tiles(fetcher))
    if fetcher.missing and not got:
        raise CivicMapError(
            _(
                "no background tile of %(source_id)s could be fetched (%(error)s); check the "
                "network or the tile URL, or use basemap.tiles: none"
            )
            % {"source_id": source.id, "error": excerpt(fetcher.missing[0][3])}
        )
    manifest = tiles.write_pack_tiles(pack, source, got, fetcher.missing, date=fetcher.date)
    log.info(
        _(
            "offline pack: %(count)d tiles of %(source_id)s (zooms %(zooms)s, %(bytes)d "
            "bytes), %(n)d missing"
        ), {"count": manifest["count"], "source_id": source.id, "zooms": manifest["zooms"], "bytes": manifest["bytes"], "n": len(manifest["missing"])},
    )  # fmt: skip
    if hazards:
        manifest = {**manifest, "hazards": hazards}
    return manifest
