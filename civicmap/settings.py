"""Settings: every default civicmap uses, in one documented place.

Change a setting by assigning to the module attribute before you build::

    import civicmap.settings as settings
    settings.overpass_url = "https://overpass.example.org/api/interpreter"

Map files and command-line options override these for one run. Environment
variables (read once, at import) override the defaults below, so a group can
point every run at its own Overpass server without editing files.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Where fetched responses (Overpass, geocoder) are cached. Keyed by a hash of
#: the request, so the same query is answered from disk. ``CIVICMAP_CACHE_DIR``.
cache_folder: Path = Path(os.environ.get("CIVICMAP_CACHE_DIR", Path.home() / ".cache" / "civicmap"))

#: Whether to use the response cache at all.
use_cache: bool = True

#: Offline mode: answer only from the cache and fail with a clear message
#: naming what is missing instead of touching the network. ``CIVICMAP_OFFLINE=1``.
#: Only the default: ``build(..., offline=True)``, ``collect(..., offline=True)``,
#: ``batch(..., offline=True)`` and ``--offline`` pass the choice down as a value
#: (``MapSpec.offline``, the ``offline=`` keyword of :mod:`civicmap._http`), and
#: that value wins; nothing sets this variable during a run.
offline: bool = os.environ.get("CIVICMAP_OFFLINE", "") not in ("", "0", "false", "no")

#: The Overpass API interpreter endpoint. The map file (``osm: {overpass_url:}``)
#: and ``--overpass-url`` override it. ``CIVICMAP_OVERPASS_URL``.
overpass_url: str = os.environ.get(
    "CIVICMAP_OVERPASS_URL", "https://overpass-api.de/api/interpreter"
)

#: Seconds the Overpass server may spend on one query (``[timeout:N]``) and the
#: HTTP read timeout (a little longer, so the server's own error arrives first).
overpass_timeout: int = 180

#: Maximum memory the Overpass server may use for one query, in bytes (``[maxsize:N]``).
overpass_maxsize: int = 512 * 1024 * 1024

#: How many times a request is retried on 429, 504 or a connection error before
#: giving up. Each retry waits longer (``backoff_base`` × 2**attempt seconds).
max_retries: int = 3

#: First backoff delay, in seconds.
backoff_base: float = 2.0

#: Longest single wait civicmap accepts, in seconds, whether from backoff,
#: ``Retry-After`` or Overpass's ``/api/status`` slot time.
max_wait: float = 60.0

#: Connect/read timeout for ordinary HTTP requests (geocoder, status), in seconds.
http_timeout: float = 30.0

#: The User-Agent sent with every request: Overpass and GSI ask clients to name themselves.
user_agent: str = "civicmap/0.1 (+https://github.com/civicmap/civicmap)"

#: Address geocoder endpoint (GSI address search). ``CIVICMAP_GEOCODER_URL``.
geocoder_url: str = os.environ.get(
    "CIVICMAP_GEOCODER_URL", "https://msearch.gsi.go.jp/address-search/AddressSearch"
)

#: Place-name search for ``area: {place: ...}`` (Nominatim). ``CIVICMAP_NOMINATIM_URL``.
nominatim_url: str = os.environ.get(
    "CIVICMAP_NOMINATIM_URL", "https://nominatim.openstreetmap.org/search"
)

#: Default display language of maps: ``ja`` or ``en``.
language: str = "ja"

#: Walking speed used to turn walking distance into time, in metres per minute
#: (80 m/min is the figure Japanese real-estate and disaster guides use).
walking_speed_m_per_min: float = 80.0

#: HTTP read timeout for Overpass requests, in seconds. ``None`` means
#: ``overpass_timeout + 15`` so the server's own timeout message arrives first.
overpass_http_timeout: float | None = None

#: Ask Overpass's ``/api/status`` for a free slot before each query (public
#: servers rate-limit per client; waiting there is politer than a 429).
overpass_check_status: bool = True

#: Most vertices of the ``poly:`` area filter sent to Overpass. A ward boundary
#: has thousands; Overpass evaluates every vertex for every element, so the
#: boundary is simplified (outwards, never cutting the area) to this many.
overpass_max_vertices: int = 120

#: Where ``civicmap fetch`` writes the offline pack when neither the map
#: (``osm: {pack: ...}``) nor ``-o`` names one, relative to the map file.
default_pack: str = "osm-pack"

# --- limits against hostile or broken input (issue #12) -------------------------

#: Largest map or layer YAML file read, in bytes. Real ones are a few kB; data
#: belongs in CSV/GeoJSON sources. Checked before the file is parsed.
yaml_max_bytes: int = 16 * 1024 * 1024

#: How many values YAML aliases (``*name``) may add to a map or layer file
#: when written out. Reusing a style block a few times adds tens; a "billion
#: laughs" file adds billions and is refused before anything is built from it.
yaml_max_alias_nodes: int = 100_000

#: Largest Overpass answer accepted, in bytes (after decompression). The body
#: is read in pieces and the request is stopped as soon as it grows past this,
#: instead of holding gigabytes in memory. A ward with its basemap is 20-100 MB.
overpass_max_bytes: int = 512 * 1024 * 1024

#: Largest answer of any other request (geocoder, place search, status), in bytes.
http_max_bytes: int = 16 * 1024 * 1024

#: Longest time one Overpass request may take in total, in seconds, retries and
#: waits included. Read timeouts only bound the gap between two pieces of the
#: answer; a server sending one byte every few seconds is cut off here.
#: ``None`` means ``overpass_timeout + 120``.
overpass_deadline: float | None = None

#: Longest time any other request may take in total, retries included, in seconds.
http_deadline: float = 120.0

#: How many redirects a request follows. Only redirects to the same host (same
#: scheme and port, or http to https) are followed; a redirect to another host
#: is an error, so a query is never re-sent to a server the user did not name.
max_redirects: int = 3
#: Largest input file (CSV, GeoJSON, KML, .umap, .osm) civicmap reads, in bytes;
#: bigger files are refused with a clear message instead of filling memory.
#: ``CIVICMAP_MAX_INPUT_MB``.
max_input_bytes: int = int(float(os.environ.get("CIVICMAP_MAX_INPUT_MB", "512")) * 1024 * 1024)
#: Largest size one member of a zip (KMZ) may unpack to, in bytes.
max_zip_member_bytes: int = 256 * 1024 * 1024
#: Highest compression ratio accepted for a zip member larger than 1 MB
#: (real KML compresses about 10:1; a zip bomb 1000:1 or more).
max_zip_ratio: int = 100
#: Most rows one sheet of a .xlsx/.ods workbook may hold (checked before the workbook
#: is opened): a bigger table belongs in a CSV file, which civicmap reads with far less
#: memory.
max_sheet_rows: int = 100_000
#: Most cells (rows × columns of each sheet, all sheets together) a .xlsx/.ods
#: workbook may hold: reading an .ods takes about 2.5 kB and 0.15 ms per cell.
max_sheet_cells: int = 250_000
#: Deepest nesting of XML elements or JSON arrays/objects accepted in an input
#: file (a real KML or GeoJSON is about a dozen levels deep).
max_nesting: int = 100
#: Most map layers one uMap or KML/KMZ file becomes (its datalayers or folders that
#: hold places, with ``layers: layers``, the default). Each costs a legend entry, a
#: row of the web map's layer switcher and of the paper legend, and build time; real
#: maps have a handful to a few dozen. Past it the first ``max_file_layers - 1`` stay
#: layers and the others become one last layer ("その他のレイヤー") with their names as
#: categories, and a warning names the file. At least 2 (one kept, one folded).
max_file_layers: int = 40
#: Most categories of one layer drawn with a colour and symbol of their own, on paper
#: and on the web map (legend rows and the viewer's category checkboxes follow). A
#: layer file's ``categories:`` count first, then the largest categories (by places,
#: ties by first appearance); past the budget the rest share the layer's own look
#: under one legend row "その他（N種類・M件）", each place still drawn, numbered and
#: searchable with its category text, and a warning names the layer. At least 2.
max_categories_paper: int = 12
max_categories_web: int = 30
#: Deepest uMap child layer (a layer inside a layer inside …) read as a layer of its
#: own; real maps nest one or two levels. Layers nested deeper are read as part of
#: their ancestor at this depth (their places kept, their names as categories), with
#: a warning naming the file.
max_child_layer_depth: int = 10

#: Seconds a run waits for another civicmap run writing into the same output folder to
#: finish before it gives up with a clear message (two runs never mix their outputs).
#: ``CIVICMAP_OUTPUT_LOCK_WAIT``.
output_lock_wait: float = float(os.environ.get("CIVICMAP_OUTPUT_LOCK_WAIT", "10"))

#: Seconds ``civicmap batch --scheduler`` waits to reach a Dask scheduler and hear its
#: greeting (and for Dask's own connect) before it says no scheduler answered there.
#: ``CIVICMAP_SCHEDULER_TIMEOUT``.
scheduler_timeout: float = float(os.environ.get("CIVICMAP_SCHEDULER_TIMEOUT", "10"))

# --- the network in one run (issues #30, #31) -----------------------------------

#: Retries of "try later" answers (429, 502-504, timeouts in mid-answer) one
#: command may make in all, on top of ``max_retries`` per request: a server that
#: keeps failing cannot hold a build through hundreds of retried requests.
max_retries_per_run: int = 12

#: Seconds a host that could not be connected to at all (no DNS, refused,
#: unreachable, TLS failure) is not asked again within one command (outside a
#: command, from Python, at most 60 s: a notebook's Wi-Fi may come back).
unreachable_memory: float = 900.0

#: Let URLs from map files (a custom tile server, ``osm.overpass_url``) reach
#: loopback, link-local and private addresses. Off: a shared map file could
#: otherwise make civicmap ask this computer's or the local network's internal
#: services (169.254.169.254). The command line's ``--allow-private-urls`` turns
#: it on for one run. ``CIVICMAP_ALLOW_PRIVATE_URLS=1``.
allow_private_urls: bool = os.environ.get("CIVICMAP_ALLOW_PRIVATE_URLS", "") not in (
    "",
    "0",
    "false",
    "no",
)

#: Background tiles of one build: the longest time all their requests may take,
#: in seconds, and the most bytes they may bring. Past either the tile server is
#: treated as broken and the map is drawn on its fallback background.
tile_deadline: float = 180.0
tile_max_bytes: int = 256 * 1024 * 1024

#: One tile request: longest time (retries included) and largest answer.
tile_request_deadline: float = 30.0
tile_request_max_bytes: int = 4 * 1024 * 1024

#: Largest tile image accepted, in pixels (width × height), read from the
#: PNG/JPEG header before anything is decoded; real tiles are 256² or 512².
tile_max_pixels: int = 1024 * 1024

#: Tile requests that may fail (not counting a plain 404, which a tile server
#: answers for the sea) before the server is declared broken for this build.
tile_max_failures: int = 6
