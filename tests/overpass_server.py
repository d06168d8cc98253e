"""A small Overpass API server for tests, answering from a local OSM extract.

It speaks the parts of the Overpass API civicmap uses, over real HTTP on
127.0.0.1:

- ``/api/interpreter`` with ``data=`` by GET or POST, evaluating the subset of
  Overpass QL that civicmap generates and that simple overpass turbo queries
  use: ``[out:xml|json]`` settings, statements ``node|way|relation|nwr`` with
  tag selectors (``[k]``, ``[!k]``, ``[k=v]``, ``[k!=v]``, ``[k~re]``,
  ``[k!~re]``) and one spatial filter (``(s,w,n,e)`` or ``(poly:"lat lon ...")``),
  unions ``( ... );``, recursion ``(._;>;);`` and ``out body|geom;``;
- ``/api/status`` with the slot lines real servers print.

Failures on demand: put ``429``, ``504``, ``"slow"``, ``"truncate"`` or
``"remark"`` into :attr:`OverpassServer.script`; each request to the
interpreter takes the next one (an empty script answers normally). A callable
in the script answers the request itself: it gets the request handler (with
``send_response``, ``send_header``, ``end_headers``, ``wfile``); the fault
servers of ``tests/security/faults.py`` (redirects, drips, floods, error
pages) are written this way.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import quoteattr

import loopback
import osmium
from shapely import prepared
from shapely.geometry import LineString, Point, Polygon, box

_STATEMENT = re.compile(r"(node|way|relation|rel|nwr)((?:\[[^\]]*\])*)\(([^()]*)\)\s*;")
_SELECTOR = re.compile(
    r'\[\s*(!?)\s*"((?:[^"\\]|\\.)*)"\s*(?:(!=|=|!~|~)\s*"((?:[^"\\]|\\.)*)"\s*)?\]'
    r"|\[\s*(!?)\s*([\w:.-]+)\s*(?:(!=|=|!~|~)\s*([^\]]+?)\s*)?\]"
)


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse_selectors(text: str) -> list[tuple[str, str, str | None]]:
    """``[k=v][!k2]`` → [(key, op, value)] with op one of exists, absent, =, !=, ~, !~."""
    out = []
    pos = 0
    while pos < len(text):
        m = _SELECTOR.match(text, pos)
        if not m:
            raise ValueError(f"cannot parse tag selector at {text[pos:]!r}")
        if m.group(2) is not None:
            neg, key, op, val = m.group(1), _unquote(m.group(2)), m.group(3), m.group(4)
        else:
            neg, key, op, val = m.group(5), m.group(6), m.group(7), m.group(8)
        if op is None:
            out.append((key, "absent" if neg else "exists", None))
        else:
            out.append((key, op, _unquote(val) if val is not None else None))
        pos = m.end()
    return out


def _tag_ok(tags: dict, key: str, op: str, val: str | None) -> bool:
    v = tags.get(key)
    if op == "exists":
        return v is not None
    if op == "absent":
        return v is None
    if op == "=":
        return v == val
    if op == "!=":
        return v != val
    if op == "~":
        return v is not None and re.search(val, v) is not None
    return v is None or re.search(val, v) is None


@dataclass
class OsmStore:
    """An extract held in memory: nodes, ways and relations with tags."""

    nodes: dict[int, tuple[float, float, dict]] = field(default_factory=dict)
    ways: dict[int, tuple[list[int], dict]] = field(default_factory=dict)
    rels: dict[int, tuple[list[tuple[str, int, str]], dict]] = field(default_factory=dict)
    osm_base: str = ""

    @classmethod
    def load(cls, path: Path) -> OsmStore:
        store = cls()
        newest = ""
        for obj in osmium.FileProcessor(str(path)):
            ts = obj.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ") if obj.timestamp else ""
            newest = max(newest, ts)
            tags = dict(obj.tags)
            if obj.is_node() and obj.location.valid():
                store.nodes[obj.id] = (obj.location.lat, obj.location.lon, tags)
            elif obj.is_way():
                store.ways[obj.id] = ([n.ref for n in obj.nodes], tags)
            elif obj.is_relation():
                store.rels[obj.id] = ([(m.type, m.ref, m.role) for m in obj.members], tags)
        store.osm_base = newest
        return store

    def _way_geom(self, wid: int):
        pts = [(self.nodes[r][1], self.nodes[r][0]) for r in self.ways[wid][0] if r in self.nodes]
        if not pts:
            return None
        return Point(pts[0]) if len(pts) == 1 else LineString(pts)

    def query(self, kind: str, selectors, spatial) -> set[tuple[str, int]]:
        """Elements of ``kind`` matching every selector and touching ``spatial``."""
        found: set[tuple[str, int]] = set()
        kinds = {"nwr": ("node", "way", "relation"), "rel": ("relation",)}.get(kind, (kind,))

        def ok(tags):
            return all(_tag_ok(tags, *s) for s in selectors)

        if "node" in kinds:
            for nid, (lat, lon, tags) in self.nodes.items():
                if ok(tags) and spatial.intersects(Point(lon, lat)):
                    found.add(("node", nid))
        if "way" in kinds:
            for wid, (_refs, tags) in self.ways.items():
                if ok(tags):
                    g = self._way_geom(wid)
                    if g is not None and spatial.intersects(g):
                        found.add(("way", wid))
        if "relation" in kinds:
            for rid, (members, tags) in self.rels.items():
                if not ok(tags):
                    continue
                for mtype, ref, _role in members:
                    g = None
                    if mtype == "n" and ref in self.nodes:
                        g = Point(self.nodes[ref][1], self.nodes[ref][0])
                    elif mtype == "w" and ref in self.ways:
                        g = self._way_geom(ref)
                    if g is not None and spatial.intersects(g):
                        found.add(("relation", rid))
                        break
        return found

    def recurse_down(self, elements: set[tuple[str, int]]) -> set[tuple[str, int]]:
        out = set(elements)
        for kind, oid in list(elements):
            if kind == "relation":
                for mtype, ref, _ in self.rels[oid][0]:
                    if mtype == "w" and ref in self.ways:
                        out.add(("way", ref))
                        out.update(("node", r) for r in self.ways[ref][0] if r in self.nodes)
                    elif mtype == "n" and ref in self.nodes:
                        out.add(("node", ref))
            elif kind == "way":
                out.update(("node", r) for r in self.ways[oid][0] if r in self.nodes)
        return out


def _spatial(text: str):
    text = text.strip()
    if text.startswith("poly:"):
        nums = [float(x) for x in text[5:].strip().strip('"').split()]
        ring = [(nums[i + 1], nums[i]) for i in range(0, len(nums), 2)]
        return prepared.prep(Polygon(ring))
    s, w, n, e = (float(x) for x in text.split(","))
    return prepared.prep(box(w, s, e, n))


def evaluate(store: OsmStore, ql: str) -> tuple[str, set[tuple[str, int]], str]:
    """Evaluate a query: (output format, elements, out mode)."""
    fmt = "json" if re.search(r"\[out:json\]", ql) else "xml"
    found: set[tuple[str, int]] = set()
    statements = _STATEMENT.findall(ql)
    if len(statements) != len(re.findall(r"\b(?:node|way|relation|rel|nwr)\s*[\[(]", ql)):
        raise ValueError("a statement this test server cannot parse")
    for kind, sel, spatial in statements:
        found |= store.query(kind, parse_selectors(sel), _spatial(spatial))
    if re.search(r"\(\s*\._\s*;\s*>\s*;\s*\)\s*;", ql):
        found = store.recurse_down(found)
    mode = "geom" if re.search(r"\bout\s+geom", ql) else "body"
    if re.search(r"\bout[^;]*;\s*>\s*;\s*out\s+skel", ql):
        mode = "batches"  # results with tags, then their nodes without (`out skel`)
    return fmt, found, mode


def render(store: OsmStore, fmt: str, elements: set[tuple[str, int]], mode: str) -> bytes:
    order = {"node": 0, "way": 1, "relation": 2}
    items = sorted(elements, key=lambda e: (order[e[0]], e[1]))
    mtype = {"n": "node", "w": "way", "r": "relation"}
    if fmt == "json":
        els = []
        for kind, oid in items:
            if kind == "node":
                lat, lon, tags = store.nodes[oid]
                el = {"type": "node", "id": oid, "lat": lat, "lon": lon}
            elif kind == "way":
                refs, tags = store.ways[oid]
                el = {"type": "way", "id": oid, "nodes": refs}
                if mode == "geom":
                    el["geometry"] = [
                        {"lat": store.nodes[r][0], "lon": store.nodes[r][1]}
                        if r in store.nodes
                        else None
                        for r in refs
                    ]
            else:
                members, tags = store.rels[oid]
                el = {"type": "relation", "id": oid,
                      "members": [{"type": mtype[t], "ref": r, "role": role} for t, r, role in members]}  # fmt: skip
            if tags:
                el["tags"] = tags
            els.append(el)
        doc = {"version": 0.6, "generator": "civicmap test server",
               "osm3s": {"timestamp_osm_base": store.osm_base}, "elements": els}  # fmt: skip
        return json.dumps(doc, ensure_ascii=False).encode("utf-8")

    def tags_xml(tags):
        return "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())

    skel: list[tuple[str, int]] = []
    if mode == "batches":
        skel = sorted(store.recurse_down(elements) - elements, key=lambda e: (order[e[0]], e[1]))
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="civicmap test server">',
           "<note>The data included in this document is from www.openstreetmap.org.</note>",
           f'<meta osm_base="{store.osm_base}"/>']  # fmt: skip
    for kind, oid in items:
        if kind == "node":
            lat, lon, tags = store.nodes[oid]
            out.append(f'<node id="{oid}" lat="{lat:.7f}" lon="{lon:.7f}">{tags_xml(tags)}</node>')
        elif kind == "way":
            refs, tags = store.ways[oid]
            if mode == "geom":
                nds = "".join(
                    f'<nd ref="{r}" lat="{store.nodes[r][0]:.7f}" lon="{store.nodes[r][1]:.7f}"/>'
                    for r in refs if r in store.nodes
                )  # fmt: skip
            else:
                nds = "".join(f'<nd ref="{r}"/>' for r in refs)
            out.append(f'<way id="{oid}">{nds}{tags_xml(tags)}</way>')
        else:
            members, tags = store.rels[oid]
            ms = "".join(
                f'<member type="{mtype[t]}" ref="{r}" role={quoteattr(role)}/>'
                for t, r, role in members
            )
            out.append(f'<relation id="{oid}">{ms}{tags_xml(tags)}</relation>')
    for kind, oid in skel:
        if kind == "node":
            lat, lon, _ = store.nodes[oid]
            out.append(f'<node id="{oid}" lat="{lat:.7f}" lon="{lon:.7f}"/>')
        elif kind == "way":
            out.append(
                f'<way id="{oid}">'
                + "".join(f'<nd ref="{r}"/>' for r in store.ways[oid][0])
                + "</way>"
            )
    out.append("</osm>")
    return "\n".join(out).encode("utf-8")


class OverpassServer:
    """A running test server; use as a context manager or call :meth:`stop`."""

    def __init__(self, extract: Path, *, slow_seconds: float = 2.0):
        self.store = OsmStore.load(extract)
        self.script: list = []
        self.status_wait: int | None = None
        self.slow_seconds = slow_seconds
        self.requests: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        self._answers: dict[str, tuple[bytes, str]] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _send(self, code: int, body: bytes, ctype: str, *, length: int | None = None):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self, data: str | None):
                path = urlparse(self.path).path
                if path.endswith("/api/status"):
                    with server.lock:
                        server.requests.append(("GET", "status", ""))
                    if server.status_wait:
                        text = ("Connected as: 1\nCurrent time: 2024-01-01T00:00:00Z\nRate limit: 2\n"
                                f"Slot available after: 2024-01-01T00:00:0{server.status_wait}Z, in "
                                f"{server.status_wait} seconds.\nCurrently running queries (pid, space limit, time limit, start time):\n")  # fmt: skip
                        server.status_wait = None
                    else:
                        text = ("Connected as: 1\nCurrent time: 2024-01-01T00:00:00Z\nRate limit: 2\n"
                                "2 slots available now.\nCurrently running queries (pid, space limit, time limit, start time):\n")  # fmt: skip
                    return self._send(200, text.encode(), "text/plain; charset=utf-8")
                if not path.endswith("/api/interpreter"):
                    return self._send(404, b"not found", "text/plain")
                if data is None:
                    return self._send(
                        400, b"<p><strong>Error</strong>: no data= given</p>", "text/html"
                    )
                with server.lock:
                    server.requests.append((self.command, "interpreter", data))
                    action = server.script.pop(0) if server.script else None
                if callable(action):
                    self.close_connection = True
                    return action(self)
                if action in (429, 504, 503):
                    return self._send(action, b"<p>busy</p>", "text/html")
                try:
                    body, ctype = server.answer(data)
                except (ValueError, re.error) as exc:
                    msg = f"<p><strong>Error</strong>: line 1: parse error: {exc}</p>".encode()
                    return self._send(400, msg, "text/html")
                if action == "slow":
                    time.sleep(server.slow_seconds)
                elif action == "truncate":
                    self._send(200, body[: len(body) // 2], ctype, length=len(body))
                    self.close_connection = True
                    return None
                elif action == "remark":
                    body = body.replace(
                        b"</osm>",
                        b'<remark> runtime error: Query timed out in "query" at line 3 after 181 seconds. </remark>\n</osm>',
                    )
                return self._send(200, body, ctype)

            def do_GET(self):
                qs = parse_qs(urlparse(self.path).query)
                self._handle(qs.get("data", [None])[0])

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode("utf-8"))
                self._handle(form.get("data", [None])[0])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = loopback.start(self.httpd)

    def answer(self, data: str) -> tuple[bytes, str]:
        """The answer to query ``data`` and its Content-Type, worked out once per query.

        The extract never changes, so the same query always gets the same bytes; tests
        send the same few queries again and again, and answering each from scratch
        (a few tenths of a second on a loaded machine) could outlast the tests' 1 s
        read timeout. Raises ValueError for a query the server cannot parse.
        """
        with self.lock:
            known = self._answers.get(data)
        if known is None:
            fmt, found, mode = evaluate(self.store, data)
            body = render(self.store, fmt, found, mode)
            known = (body, "application/json" if fmt == "json" else "application/osm3s+xml")
            with self.lock:
                self._answers[data] = known
        return known

    @property
    def url(self) -> str:
        """The interpreter URL (``http://127.0.0.1:PORT/api/interpreter``)."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/api/interpreter"

    def interpreter_requests(self) -> list[tuple[str, str, str]]:
        return [r for r in self.requests if r[1] == "interpreter"]

    def stop(self) -> None:
        loopback.stop(self.httpd)

    def __enter__(self) -> OverpassServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
