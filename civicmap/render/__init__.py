"""Renderers: each takes a :class:`~civicmap.mapdata.MapData` and writes one kind of output.

- :mod:`civicmap.render.web` — the interactive Folium map (HTML)
- :mod:`civicmap.render.paper` — the printable PDF (and PNG)
- :mod:`civicmap.render.basemap` — the OSM vector basemap drawn on paper
- :mod:`civicmap.render.export` — .umap, GeoJSON and KML
"""
