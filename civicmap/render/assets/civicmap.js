/* civicmap web map: draws the layers, legend, search and controls from one payload.
 * Text from data is only ever set with textContent (or escaped with esc()),
 * never parsed as HTML. */
var civicmap = (function () {
  "use strict";

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  var SVGNS = "http://www.w3.org/2000/svg";
  // a transparent 1×1 GIF for a pack tile that was not stored (outside the saved area)
  var EMPTY_TILE = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7";
  function svgBox(viewBox, width, height) {
    var svg = document.createElementNS(SVGNS, "svg");
    svg.setAttribute("viewBox", viewBox);
    svg.setAttribute("width", String(width));
    svg.setAttribute("height", String(height));
    svg.setAttribute("aria-hidden", "true");
    return svg;
  }

  // A style is a layer (color, path) or one of its categories (layer.styles[k]).
  function symbolSvg(style, approximate) {
    var svg = svgBox("-2 -2 24 24", 22, 22);
    var p = document.createElementNS(SVGNS, "path");
    p.setAttribute("d", style.path);
    p.setAttribute("fill", approximate ? "#ffffff" : style.color);
    p.setAttribute("stroke", approximate ? style.color : "#ffffff");
    p.setAttribute("stroke-width", approximate ? "2.5" : "2");
    if (approximate) p.setAttribute("stroke-dasharray", "3 2");
    svg.appendChild(p);
    return svg;
  }

  // The legend's mark of a layer of routes (a line) or zones (an area), in its style.
  function shapeSvg(layer) {
    var svg = svgBox("0 0 24 24", 22, 22);
    var line = layer.drawn === "line";
    var p = document.createElementNS(SVGNS, line ? "line" : "rect");
    if (line) {
      [["x1", 1], ["y1", 12], ["x2", 23], ["y2", 12]].forEach(function (a) { p.setAttribute(a[0], String(a[1])); });
      p.setAttribute("stroke-width", String(Math.min(layer.weight || 3, 5)));
      if (layer.dash) p.setAttribute("stroke-dasharray", layer.dash);
    } else {
      [["x", 3], ["y", 5], ["width", 18], ["height", 14]].forEach(function (a) { p.setAttribute(a[0], String(a[1])); });
      p.setAttribute("fill", layer.fill || layer.color);
      p.setAttribute("fill-opacity", String(layer.fillOpacity !== null && layer.fillOpacity !== undefined ? layer.fillOpacity : 0.3));
      p.setAttribute("stroke-width", "2");
    }
    p.setAttribute("stroke", layer.color);
    svg.appendChild(p);
    return svg;
  }

  function layerMark(layer) {
    var styles = layer.styles || [];
    if (layer.drawn) return shapeSvg(layer);
    return symbolSvg(styles.length === 1 ? styles[0] : layer, false);
  }

  function styleOf(layer, f) {
    var st = (layer.styles && layer.styles[f.k || 0]) || layer;
    // a feature's own colour from its file (uMap, My Maps) wins over its category's
    return f.c ? { path: st.path, color: f.c, name: st.name, title: st.title } : st;
  }

  // A line's or area's look: its own width/dash/fill, else its layer's (uMap's defaults).
  function shapeStyle(layer, f) {
    var own = f.ss || {};
    var color = styleOf(layer, f).color;
    return {
      color: color,
      weight: own.w || layer.weight || 3,
      dashArray: own.d || layer.dash || null,
      fillColor: own.f || layer.fill || color,
      fillOpacity: layer.fillOpacity !== null && layer.fillOpacity !== undefined ? layer.fillOpacity : 0.3,
    };
  }

  // One icon per (category style, approximate); co-located places get one icon
  // holding every symbol side by side.
  // ``no``: the place's paper index number (render/numbering.py), shown when printing.
  function makeIcon(styles, approximate, no) {
    var wrap = el("div");
    var box = el("div", "cm-icon-box");
    styles.forEach(function (st) { box.appendChild(symbolSvg(st, approximate)); });
    wrap.appendChild(box);
    if (no) wrap.appendChild(el("span", "cm-num", String(no)));
    var w = 22 * styles.length;
    return L.divIcon({
      html: wrap.innerHTML,
      className: "cm-icon cm-icon-" + styles[0].symbol + (approximate ? " cm-approx" : "") +
        (styles.length > 1 ? " cm-multi" : ""),
      iconSize: [w, 22],
      iconAnchor: [w / 2, 11],
      popupAnchor: [0, -10],
      tooltipAnchor: [w / 2, 0],
    });
  }

  var SAFE_LINK = /^(https?:\/\/|tel:|mailto:)/i;

  function valueCell(row) {
    var td = el("td");
    if (row[2] && SAFE_LINK.test(row[2])) {
      var a = el("a", null, row[1]);
      a.href = row[2];
      if (/^https?:/i.test(row[2])) {
        a.target = "_blank";
        a.rel = "noopener noreferrer";
      }
      td.appendChild(a);
    } else {
      td.textContent = row[1];
    }
    return td;
  }

  function popupBody(box, f) {
    if (typeof f.p === "string") {
      var lines = f.p.split("\n");
      var body = el("div", "cm-popup-text");
      for (var i = 0; i < lines.length; i++) {
        if (i) body.appendChild(document.createElement("br"));
        body.appendChild(document.createTextNode(lines[i]));
      }
      box.appendChild(body);
    } else if (f.p && f.p.length) {
      var table = el("table", "cm-popup-table");
      f.p.forEach(function (row) {
        var tr = el("tr");
        tr.appendChild(el("th", null, row[0]));
        tr.appendChild(valueCell(row));
        table.appendChild(tr);
      });
      box.appendChild(table);
    }
  }

  function directions(f, T) {
    var d = el("div", "cm-directions");
    var lat = f.ll[0], lon = f.ll[1];
    d.appendChild(el("span", "cm-directions-label", T.directions + "："));
    var geo = el("a", "cm-geo", T.directions_geo);
    geo.href = "geo:" + lat + "," + lon + "?q=" + lat + "," + lon + "(" + encodeURIComponent(f.n || "") + ")";
    d.appendChild(geo);
    d.appendChild(document.createTextNode(" ・ "));
    var app = el("a", "cm-mapapp", T.directions_app);
    app.href = "https://www.google.com/maps/dir/?api=1&destination=" + lat + "," + lon;
    app.target = "_blank";
    app.rel = "noopener noreferrer";
    d.appendChild(app);
    return d;
  }

  function popupContent(layer, f, texts, layersById) {
    var box = el("div", "cm-popup");
    var title = el("div", "cm-popup-title" + (f.u ? " cm-unnamed" : ""), f.n || "");
    // the same number as the printed index and the printed marker (drawn before the
    // name by the style sheet: the title's text stays the name)
    if (f.no) title.setAttribute("data-no", String(f.no));
    box.appendChild(title);
    if (f.o) box.appendChild(el("div", "cm-popup-orig", f.o));
    var st = styleOf(layer, f);
    var head = el("div", "cm-popup-layer");
    head.appendChild(symbolSvg(st, false));
    head.appendChild(el("span", null, layer.title + (st.title && st.title !== layer.title ? "：" + st.title : "")));
    box.appendChild(head);
    popupBody(box, f);
    (f.m || []).forEach(function (g) {
      var other = layersById[g.L];
      if (!other) return;
      var sec = el("div", "cm-popup-also");
      var gst = styleOf(other, g);
      var h = el("div", "cm-popup-layer");
      h.appendChild(symbolSvg(gst, false));
      h.appendChild(el("span", null, other.title + (gst.title && gst.title !== other.title ? "：" + gst.title : "")));
      sec.appendChild(h);
      if (g.n && g.n !== f.n) sec.appendChild(el("div", "cm-popup-subtitle", g.n));
      // Rows the first place already shows (the same address) are not repeated.
      var shown = {};
      if (f.p && typeof f.p !== "string") f.p.forEach(function (r) { shown[r[0] + "\u0001" + r[1]] = 1; });
      var rest = g.p && typeof g.p !== "string"
        ? g.p.filter(function (r) { return !shown[r[0] + "\u0001" + r[1]]; })
        : g.p;
      popupBody(sec, { p: rest });
      box.appendChild(sec);
    });
    if (f.a) box.appendChild(el("div", "cm-popup-approx", "⚠ " + texts.approximate));
    box.appendChild(directions(f, texts));
    return box;
  }

  var BASEMAP_STYLE = {
    park: { color: "#8ac926", weight: 0, fillColor: "#d8f3c4", fillOpacity: 1 },
    water: { color: "#74c0fc", weight: 1, fillColor: "#a5d8ff", fillOpacity: 1 },
    school: { color: "#e9d8a6", weight: 0, fillColor: "#f8f0d8", fillOpacity: 1 },
    building: { color: "#c9c2b8", weight: 0.5, fillColor: "#e3ddd4", fillOpacity: 1 },
    path: { color: "#adb5bd", weight: 1, dashArray: "3 3" },
    road_minor: { color: "#ffffff", weight: 5 },
    road_major: { color: "#ffd8a8", weight: 7 },
    railway: { color: "#495057", weight: 2.5, dashArray: "8 4" },
    station: { color: "#495057", weight: 1, fillColor: "#868e96", fillOpacity: 0.6 },
    landuse: { color: "#dee2e6", weight: 0, fillColor: "#f1f3f5", fillOpacity: 1 },
  };

  // The basemap comes as integer deltas of 1e-5 degrees per part (web.py
  // basemap_payload). It is decoded once into Web Mercator coordinates (0..1) and
  // painted by one canvas renderer straight from those arrays: no Leaflet object per
  // building, so a 16 km² city opens fast. Small things are left out when zoomed out
  // (buildings and paths below zoom 15, minor roads below 13): the detail a reader
  // cannot see at that scale, drawn again as soon as they zoom in.
  var MIN_ZOOM = { building: 15, path: 15, road_minor: 13 };

  function prepareBasemap(bm) {
    var kinds = [];
    var count = 0;
    var PI = Math.PI;
    bm.k.forEach(function (entry) {
      var geoms = [];
      entry[1].forEach(function (g) {
        var parts = [];
        var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
        for (var p = 1; p < g.length; p++) {
          var d = g[p];
          var xy = new Float64Array(d.length);
          var lon = 0, lat = 0;
          for (var i = 0; i < d.length; i += 2) {
            lon += d[i];
            lat += d[i + 1];
            var lo = bm.o[0] + lon / bm.s, la = (bm.o[1] + lat / bm.s) * PI / 180;
            var x = (lo + 180) / 360;
            var y = (1 - Math.log(Math.tan(la) + 1 / Math.cos(la)) / PI) / 2;
            xy[i] = x;
            xy[i + 1] = y;
            if (x < x0) x0 = x;
            if (x > x1) x1 = x;
            if (y < y0) y0 = y;
            if (y > y1) y1 = y;
          }
          parts.push(xy);
        }
        geoms.push({ t: g[0], parts: parts, box: [x0, y0, x1, y1] });
        count++;
      });
      kinds.push({ kind: entry[0], style: BASEMAP_STYLE[entry[0]] || { color: "#ced4da", weight: 1 }, geoms: geoms });
    });
    return { kinds: kinds, count: count };
  }

  var BasemapCanvas = L.Canvas.extend({
    setBasemap: function (prepared) {
      this._bm = prepared;
      return this;
    },
    // Leaflet calls _draw after clearing the canvas (move, zoom, resize): paint it all.
    _draw: function () {
      var map = this._map, ctx = this._ctx, bm = this._bm;
      if (!map || !ctx || !bm || !this._bounds) return;
      var z = map.getZoom();
      var scale = 256 * Math.pow(2, z);
      var origin = map.getPixelOrigin();
      var b = this._bounds;
      // view (with the renderer's padding) in Mercator units, for culling
      var vx0 = (b.min.x + origin.x) / scale, vy0 = (b.min.y + origin.y) / scale;
      var vx1 = (b.max.x + origin.x) / scale, vy1 = (b.max.y + origin.y) / scale;
      var ox = origin.x, oy = origin.y;
      bm.kinds.forEach(function (k) {
        if (MIN_ZOOM[k.kind] && z < MIN_ZOOM[k.kind]) return;
        var st = k.style;
        var area = st.fillColor !== undefined;
        ctx.lineJoin = "round";
        ctx.lineCap = "round";
        ctx.setLineDash(st.dashArray ? st.dashArray.split(" ").map(Number) : []);
        ctx.strokeStyle = st.color;
        ctx.lineWidth = st.weight || 0;
        if (area) ctx.fillStyle = st.fillColor;
        ctx.globalAlpha = 1;
        var points = [];
        var n = 0;
        // Paint in batches: one path with tens of thousands of rings is very slow to fill.
        function flush() {
          if (!n) return;
          if (area) {
            ctx.globalAlpha = st.fillOpacity === undefined ? 1 : st.fillOpacity;
            ctx.fill();
            ctx.globalAlpha = 1;
          }
          if (st.weight) ctx.stroke();
          n = 0;
        }
        ctx.beginPath();
        k.geoms.forEach(function (g) {
          var bx = g.box;
          if (bx[2] < vx0 || bx[0] > vx1 || bx[3] < vy0 || bx[1] > vy1) return;
          if (g.t === "M") {
            points.push(g.parts[0]);
            return;
          }
          g.parts.forEach(function (xy) {
            ctx.moveTo(xy[0] * scale - ox, xy[1] * scale - oy);
            for (var i = 2; i < xy.length; i += 2) ctx.lineTo(xy[i] * scale - ox, xy[i + 1] * scale - oy);
            if (g.t === "P") ctx.closePath();
          });
          if (++n >= 200) {
            flush();
            ctx.beginPath();
          }
        });
        flush();
        ctx.setLineDash([]);
        points.forEach(function (xy) {
          ctx.beginPath();
          ctx.arc(xy[0] * scale - ox, xy[1] * scale - oy, 3, 0, 2 * Math.PI);
          ctx.fillStyle = "#868e96";
          ctx.fill();
          ctx.strokeStyle = "#495057";
          ctx.lineWidth = 1;
          ctx.stroke();
        });
      });
    },
  });

  // A marker whose popup is made on first use: a Leaflet popup object per marker
  // made up-front costs seconds at 50,000 places.
  var POPUP_OPTIONS = { maxWidth: 300, autoPanPadding: [20, 20] };

  // Phones (a map 480 px wide or less) show a popup as a sheet at the bottom (see
  // bottomSheet): a 300-px Leaflet popup has no room beside the control column there.
  var NARROW = 480;
  function narrowMap(map) { return map.getContainer().clientWidth <= NARROW; }

  // Room the controls take at the top and bottom of the map, from their real boxes
  // (they change: a folded legend, a typed search). A popup keeps clear of them; a
  // popup taller than what is left keeps its title clear (Leaflet pans top last).
  function controlRoom(map) {
    var c = map.getContainer();
    var box = c.getBoundingClientRect();
    var top = 0;
    var bottom = box.height;
    c.querySelectorAll(".leaflet-top .leaflet-control").forEach(function (e) {
      var r = e.getBoundingClientRect();
      if (r.width && r.height) top = Math.max(top, r.bottom - box.top);
    });
    c.querySelectorAll(".leaflet-bottom .leaflet-control").forEach(function (e) {
      var r = e.getBoundingClientRect();
      if (r.width && r.height) bottom = Math.min(bottom, r.top - box.top);
    });
    return { top: top, bottom: bottom, height: box.height };
  }

  var leafletAdjustPan = L.Popup.prototype._adjustPan;
  L.Popup.include({
    _adjustPan: function () {
      var map = this._map;
      if (!map) return;
      if (narrowMap(map)) return; // shown in the bottom sheet instead (no pan to undo)
      var room = controlRoom(map);
      this.options.autoPanPaddingTopLeft = L.point(12, room.top + 8);
      this.options.autoPanPaddingBottomRight = L.point(12, room.height - room.bottom + 8);
      return leafletAdjustPan.apply(this, arguments);
    },
  });

  // The bottom sheet: on a phone every popup's content moves into a panel fixed at the
  // bottom of the map, its title and close button always on screen and above every
  // control; the map pans so the place stays visible above the sheet.
  function bottomSheet(map, T) {
    var c = map.getContainer();
    var sheet = el("div", "cm-sheet");
    sheet.setAttribute("role", "dialog");
    sheet.hidden = true;
    var close = el("button", "cm-sheet-close", "×");
    close.type = "button";
    close.title = T.close;
    close.setAttribute("aria-label", T.close);
    var body = el("div", "cm-sheet-content");
    sheet.appendChild(body);
    sheet.appendChild(close);
    c.appendChild(sheet);
    L.DomEvent.disableClickPropagation(sheet);
    L.DomEvent.disableScrollPropagation(sheet);
    function hide() {
      sheet.hidden = true;
      body.textContent = "";
    }
    function show(content, latlng) {
      body.textContent = "";
      body.appendChild(content);
      sheet.hidden = false;
      body.scrollTop = 0;
      if (!latlng) return;
      var room = controlRoom(map);
      var low = sheet.offsetTop - 16;
      var high = room.top + 16;
      var p = map.latLngToContainerPoint(latlng);
      if (p.y > low || p.y < high) map.panBy([0, p.y - (high + Math.max(high, low)) / 2], { animate: false });
    }
    close.addEventListener("click", hide);
    document.addEventListener("keydown", function (e) { if (e.key === "Escape") hide(); });
    map.on("click", hide);
    map.on("resize", function () { if (!narrowMap(map)) hide(); }); // a phone turned
    map.on("popupopen", function (e) {
      if (!narrowMap(map)) return;
      var popup = e.popup;
      var node = popup.getElement();
      var inner = node && node.querySelector(".leaflet-popup-content");
      if (!inner || !inner.firstChild) return;
      var content = document.createDocumentFragment();
      while (inner.firstChild) content.appendChild(inner.firstChild);
      node.style.display = "none";
      setTimeout(function () { map.closePopup(popup); }, 0);
      show(content, popup.getLatLng());
    });
    return { hide: hide, element: sheet };
  }
  var PlaceMarker = L.Marker.extend({
    openPopup: function (latlng) {
      if (!this.getPopup() && this.cmPopup) {
        this.bindPopup(this.cmPopup, POPUP_OPTIONS);
        // our click/keypress handlers open it; Leaflet's own would toggle it shut again
        this.off("click", this._openPopup, this);
        this.off("keypress", this._onKeyPress, this);
      }
      return L.Marker.prototype.openPopup.call(this, latlng);
    },
  });
  PlaceMarker.addInitHook(function () {
    this.on("click", function () { this.openPopup(); }, this);
    this.on("keypress", function (e) {
      if (e.originalEvent && e.originalEvent.keyCode === 13) this.openPopup();
    }, this);
  });

  function drawBasemap(map, data) {
    map.createPane("cmBasemap");
    map.getPane("cmBasemap").style.zIndex = 150; // under the tiles (200): shows where tiles are missing
    map.getPane("cmBasemap").style.pointerEvents = "none";
    var group = L.layerGroup();
    group.cmCount = 0;
    if (data.basemap) {
      var prepared = prepareBasemap(data.basemap);
      group.addLayer(new BasemapCanvas({ pane: "cmBasemap", padding: 0.3 }).setBasemap(prepared));
      group.cmCount = prepared.count;
    }
    return group;
  }

  // Home point and routes to its nearest shelters: walked routes solid, straight
  // fallbacks dashed, the nearest on foot thicker and on top.
  var ROUTE_COLOR = "#990099"; // civicmap.render._routes.ROUTE_COLOUR (CUD 紫), no layer uses it
  function routeStyle(r) {
    return {
      color: ROUTE_COLOR,
      weight: r.nearest ? 6 : 3.5,
      opacity: r.nearest ? 0.95 : 0.75,
      dashArray: r.walk ? null : "8 8",
      lineCap: "round",
      className: "cm-route" + (r.nearest ? " cm-route-nearest" : "") + (r.walk ? "" : " cm-route-straight"),
    };
  }

  function routeContent(r, T) {
    var box = el("div", "cm-popup cm-route-popup");
    box.appendChild(el("div", "cm-popup-title", r.n || ""));
    if (r.nearest) box.appendChild(el("div", "cm-route-best", "★ " + T.nearest_walk));
    if (r.c) box.appendChild(el("div", "cm-popup-layer", r.c));
    r.t.forEach(function (line) { box.appendChild(el("div", null, line)); });
    return box;
  }

  function homeIcon(T, label) {
    var wrap = el("div");
    var d = el("div", "cm-home-pin", "⌂");
    wrap.appendChild(d);
    // textContent, then serialised: a home's name from a CSV stays text
    wrap.appendChild(el("div", "cm-home-label", label || T.home));
    return L.divIcon({
      html: wrap.innerHTML,
      className: "cm-home-icon",
      iconSize: [28, 28],
      iconAnchor: [14, 14],
      popupAnchor: [0, -12],
    });
  }

  function drawRoutes(map, data) {
    var R = data.routes;
    var T = data.texts;
    if (!R || !R.items.length) return null;
    var group = L.featureGroup();
    // Others first, the nearest last: it lies on top where routes share streets.
    var order = R.items.filter(function (r) { return !r.nearest; })
      .concat(R.items.filter(function (r) { return r.nearest; }));
    order.forEach(function (r) {
      if (r.g.length < 2) return;
      var casing = L.polyline(r.g, { color: "#ffffff", weight: (r.nearest ? 6 : 3.5) + 4, opacity: 0.9, interactive: false });
      var line = L.polyline(r.g, routeStyle(r));
      line.bindTooltip(function () { return routeContent(r, T); }, { sticky: true });
      line.bindPopup(function () { return routeContent(r, T); }, { maxWidth: 280 });
      line.cmRoute = r;
      group.addLayer(casing);
      group.addLayer(line);
    });
    // One marker per home (homes: several meeting points); each lists its own routes
    // and the map's route notes (layers counted, straight-line fallback and why).
    var homes = (R.homes && R.homes.length) ? R.homes : (R.home ? [{ n: "", ll: R.home }] : []);
    if (R.home && homes.length === 1) homes[0].ll = R.home;
    homes.forEach(function (h, hi) {
      if (!h.ll) return;
      var title = homes.length > 1 && h.n ? T.home + "：" + h.n : T.home;
      var home = L.marker(h.ll, { icon: homeIcon(T, homes.length > 1 ? h.n : ""), title: title, alt: title, keyboard: true, zIndexOffset: 1000 });
      home.bindPopup(function () {
        var box = el("div", "cm-popup");
        box.appendChild(el("div", "cm-popup-title", title));
        box.appendChild(el("div", "cm-popup-layer", T.routes));
        var ol = el("ol", "cm-route-list");
        R.items.forEach(function (r) {
          if ((r.h || 0) !== hi) return;
          var li = el("li", r.nearest ? "cm-route-best" : null, (r.n || "") + "：" + r.t[0]);
          ol.appendChild(li);
        });
        box.appendChild(ol);
        (R.notes || []).forEach(function (n) { box.appendChild(el("div", "cm-route-note", n)); });
        return box;
      }, { maxWidth: 300 });
      group.addLayer(home);
    });
    return group;
  }

  function routeSwatch(walk, nearest) {
    var svg = svgBox("0 0 26 12", 26, 12);
    var p = document.createElementNS(SVGNS, "line");
    p.setAttribute("x1", "1");
    p.setAttribute("y1", "6");
    p.setAttribute("x2", "25");
    p.setAttribute("y2", "6");
    p.setAttribute("stroke", ROUTE_COLOR);
    p.setAttribute("stroke-width", nearest ? "5" : "3");
    if (!walk) p.setAttribute("stroke-dasharray", "5 4");
    svg.appendChild(p);
    return svg;
  }

  // Hazard zones (国土数値情報): one overlay per hazard, under the markers, on at load.
  var HEX = /^#[0-9a-fA-F]{6}$/;
  function hazardColour(c) { return HEX.test(c) ? c : "#999999"; }
  function drawHazards(map, data, overlays) {
    if (!data.hazards) return;
    if (!map.getPane("cm-hazards")) {
      map.createPane("cm-hazards");
      map.getPane("cm-hazards").style.zIndex = 350;  // over the background, under our symbols
    }
    window.civicmapHazards = {};
    data.hazards.layers.forEach(function (h) {
      var layer = L.geoJSON(h.zones, {
        pane: "cm-hazards",
        interactive: false,
        style: function (f) {
          var c = hazardColour((h.classes[f.properties.c] || {}).color);
          return { color: c, weight: 0.6, opacity: 0.9, fillColor: c, fillOpacity: 0.6 };
        },
      });
      (h.tiles || []).forEach(function (t) {  // ハザードマップポータルサイト tiles
        var tl = L.tileLayer(t.url, { pane: "cm-hazards", opacity: 0.7,
                                      minNativeZoom: t.minNativeZoom || 0,
                                      maxNativeZoom: t.maxNativeZoom || 17,
                                      attribution: "ハザードマップポータルサイト" });
        if (t.inline || t.have) {
          // from the offline pack: inlined, or in the tile folder (only the tiles it holds;
          // the portal's 404s, "no zone", are not there and never asked for)
          var have = {};
          (t.have || []).forEach(function (k) { have[k] = 1; });
          tl.getTileUrl = function (c) {
            var key = c.z + "/" + c.x + "/" + c.y;
            if (t.inline) return t.inline[key] || EMPTY_TILE;
            return have[key] ? L.Util.template(t.url, c) : EMPTY_TILE;
          };
        }
        tl.addTo(layer);
      });
      if (h.on !== false) layer.addTo(map);  // disaster: 洪水 — the other hazards start off
      var wrap = el("span", "cm-layer-name cm-hazard-name");
      wrap.setAttribute("data-hazard", h.id);
      wrap.appendChild(el("span", null, h.title));
      overlays[wrap.outerHTML] = layer;
      window.civicmapHazards[h.id] = layer;
    });
  }
  function hazardLegend(ul, data) {
    if (!data.hazards) return;
    data.hazards.layers.forEach(function (h) {
      ul.appendChild(el("li", "cm-legend-hazard", h.title));
      if (h.network) ul.appendChild(el("li", "cm-legend-hazard-note cm-legend-hazard-network", h.network));
      h.classes.forEach(function (c) {
        var li = el("li", "cm-legend-hazard-class");
        var sw = el("span", "cm-hazard-swatch");
        sw.style.background = hazardColour(c.color);
        li.appendChild(sw);
        li.appendChild(el("span", null, c.label));
        ul.appendChild(li);
      });
    });
    data.hazards.notes.forEach(function (n) { ul.appendChild(el("li", "cm-legend-hazard-note", n)); });
  }

  // How many sites of a layer (or of its category ``cat``) the disaster choice ``key`` shows:
  // each site counted by its own designations (f.d), wherever its marker is drawn.
  function disasterCount(data, layer, cat, key) {
    var full = cat === null ? layer.count : layer.styles[cat].count;
    if (!key) return full;
    var n = 0;
    var shelter = false;
    data.layers.forEach(function (other) {
      other.features.forEach(function (f) {
        [f].concat(f.m || []).forEach(function (g) {
          if ((g === f ? other.id : g.L) !== layer.id) return;
          if (cat !== null && (g.k || 0) !== cat) return;
          if (g.d === undefined) { n++; return; }
          shelter = true;
          if (g.d.indexOf(key) >= 0) n++;
        });
      });
    });
    return shelter ? n : full;  // a layer of no shelter sites is shown whole
  }
  function disasterCounts(data, T, key) {
    var byId = {};
    data.layers.forEach(function (layer) { byId[layer.id] = layer; });
    document.querySelectorAll(".cm-legend-layer, .cm-legend-category").forEach(function (li) {
      var layer = byId[li.getAttribute("data-layer")];
      var span = li.querySelector(".cm-count");
      if (!layer || !span) return;
      var cat = null;
      if (li.classList.contains("cm-legend-category")) {
        var name = li.getAttribute("data-category");
        (layer.styles || []).forEach(function (st, k) { if (st.name === name) cat = k; });
        if (cat === null) return;
      }
      span.textContent = T.count.replace("{n}", disasterCount(data, layer, cat, key));
    });
  }

  // The disaster choice: only the shelter sites suited to one disaster (designated, not
  // ruled out by its hazard), with that disaster's hazard layers on and the others off.
  // A map with ``disaster:`` carries every site and opens with that disaster chosen.
  function disasterView(map, data, setRule) {
    var V = data.disasterView;
    if (!V) return;
    function suits(f, key) {
      if (f.d === undefined) return true;  // not a shelter site: always shown
      if (f.d.indexOf(key) >= 0) return true;
      return (f.m || []).some(function (g) { return (g.d || []).indexOf(key) >= 0; });
    }
    function apply(key) {
      // the attribute and the counts first: the rule's listeners (the viewer's filters,
      // civicmap-filters.js) read the choice and count again with their filter
      map.getContainer().setAttribute("data-disaster", key || "");
      disasterCounts(data, data.texts, key);  // the legend's counts follow the choice
      setRule("disaster", key ? function (m) { return suits(m.cmFeature, key); } : null);
      if (data.hazards && window.civicmapHazards) {
        data.hazards.layers.forEach(function (h) {
          var on = key ? h.disaster === key : h.on !== false;
          var layer = window.civicmapHazards[h.id];
          if (on && !map.hasLayer(layer)) layer.addTo(map);
          if (!on && map.hasLayer(layer)) map.removeLayer(layer);
        });
      }
    }
    controlBox("topright", "cm-disaster", function (div) {
      var label = el("label", null, V.label + " ");
      var sel = el("select");
      sel.setAttribute("aria-label", V.label);
      var all = el("option", null, V.all);
      all.value = "";
      sel.appendChild(all);
      V.choices.forEach(function (c) {
        var o = el("option", null, c.label);
        o.value = c.key;
        if (c.key === V.selected) o.selected = true;
        sel.appendChild(o);
      });
      sel.addEventListener("change", function () { apply(sel.value); });
      label.appendChild(sel);
      div.appendChild(label);
    }).addTo(map);
    if (V.selected) apply(V.selected);  // disaster: only the suited sites at load
    map.getContainer().setAttribute("data-disaster", V.selected || "");
  }

  function controlBox(position, cls, build) {
    var C = L.Control.extend({
      options: { position: position },
      onAdd: function () {
        var div = el("div", "leaflet-control " + cls);
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        build(div);
        return div;
      },
    });
    return new C();
  }

  // Scripts loaded after this one (civicmap-filters.js) add to the drawn map with use(fn):
  // fn(map, data, api) runs at the end of every draw.
  var plugins = [];
  function use(fn) { plugins.push(fn); }

  function draw(map, data) {
    var T = data.texts;
    var layersById = {};
    data.layers.forEach(function (layer) { layersById[layer.id] = layer; });
    function popupFactory(layer, f) {
      return function () { return popupContent(layer, f, T, layersById); };
    }
    // Leaflet takes its zoom range from the tile layer; with no tile layer (offline,
    // tiles: none) the map has none and the cluster plugin refuses to work
    // ("Map has no maxZoom specified"), so no marker is drawn at all.
    if (map.options.maxZoom === undefined) map.setMaxZoom(data.maxZoom || 19);
    if (map.options.minZoom === undefined) map.setMinZoom(data.minZoom || 3);
    map.attributionControl.setPrefix(
      '<a href="https://leafletjs.com" target="_blank" rel="noopener">Leaflet</a>'
    );
    L.control.scale({ imperial: false, maxWidth: 120 }).addTo(map);

    // Title
    controlBox("topright", "cm-title", function (div) {
      div.appendChild(el("h1", null, data.title));
      if (data.subtitle) div.appendChild(el("div", "cm-subtitle", data.subtitle));
    }).addTo(map);

    // Background: online tiles over the OSM-data basemap.
    var basemap = drawBasemap(map, data).addTo(map);
    var bases = {};
    var tileLayers = {};
    data.tiles.forEach(function (t) {
      var opts = {
        attribution: t.attribution,
        maxZoom: 19,
        maxNativeZoom: t.maxNativeZoom,
        minNativeZoom: t.minNativeZoom || 0,
        crossOrigin: false,
      };
      // the pack's tiles in a folder beside the page: ask only where the folder has them
      if (t.bounds) opts.bounds = L.latLngBounds(t.bounds);
      var layer = L.tileLayer(t.url, opts);
      if (t.local) layer.localTiles = true;
      if (t.inline) {
        // tiles from the offline pack, inlined as data URIs (render/tiles.py)
        layer.getTileUrl = function (c) {
          return t.inline[c.z + "/" + c.x + "/" + c.y] || EMPTY_TILE;
        };
        layer.inlineTiles = true;
      }
      tileLayers[t.id] = layer;
      bases[esc(t.title)] = layer;
    });
    var none = L.layerGroup();
    bases[esc(T.no_tiles)] = none;
    var online = !(navigator && navigator.onLine === false);
    var bg = data.background || { banner: "", fallback: "" };
    var noteText = "";
    var note = controlBox("bottomleft", "cm-note", function (div) {
      div.textContent = noteText;
    });
    var banner = function (text) {
      noteText = text || "";
      note.remove();
      if (noteText) note.addTo(map);
    };
    var chosen = tileLayers[data.tile];
    if (chosen && (online || chosen.inlineTiles || chosen.localTiles)) {
      banner(bg.banner);
      chosen.addTo(map);
      var loaded = 0;
      var failed = 0;
      chosen.on("tileload", function () {
        loaded++;
      });
      chosen.on("tileerror", function () {
        failed++;
        if (failed >= 4 && loaded === 0 && map.hasLayer(chosen)) {
          map.removeLayer(chosen);
          none.addTo(map);
          banner(bg.fallback);
        }
      });
    } else {
      none.addTo(map);
      banner(chosen ? bg.fallback : bg.banner);
    }

    // Data edge: where the OSM extract ends.
    var overlays = {};
    if (data.edge) {
      var edge = L.geoJSON(data.edge, {
        style: { color: "#495057", weight: 2, dashArray: "6 6", fill: false },
        interactive: true,
      });
      edge.bindTooltip(esc(T.edge), { sticky: true });
      edge.addTo(map);
    }
    if (data.basemap) overlays[esc(T.basemap)] = basemap;

    // Area outline: where the map's area ends (the view fits the places, not the area).
    if (data.area) {
      L.geoJSON(data.area, {
        style: { color: "#868e96", weight: 1.5, opacity: 0.8, fill: false },
        interactive: false,
        className: "cm-area",
      }).addTo(map);
    }

    // Initial view: every place (falling back to the area when there is none).
    var placeBounds = L.latLngBounds([]);
    data.layers.forEach(function (layer) {
      layer.features.forEach(function (f) { placeBounds.extend(f.ll); });
    });
    if (placeBounds.isValid()) {
      map.fitBounds(placeBounds, { padding: [28, 28], maxZoom: 17, animate: false });
    } else {
      map.fitBounds(data.bounds, { animate: false });
    }

    // Clustering "auto": cluster when markers would overlap at the initial zoom
    // (two or more in one 24-px cell for more than 3 % of them).
    function overlaps(layer) {
      var z = map.getZoom();
      var cells = {};
      var crowded = 0;
      layer.features.forEach(function (f) {
        var p = map.project(f.ll, z);
        var key = Math.floor(p.x / 24) + ":" + Math.floor(p.y / 24);
        cells[key] = (cells[key] || 0) + 1;
      });
      Object.keys(cells).forEach(function (k) { if (cells[k] > 1) crowded += cells[k]; });
      return crowded > Math.max(2, 0.03 * layer.features.length);
    }

    // Layers
    var search = [];
    var unlabelled = [];  // markers whose label is made when labels first show (labelZoom)
    var layerGroups = {};
    var shelterGroups = [];  // every layer's markers, for the disaster choice
    data.layers.forEach(function (layer) {
      layer.clustered = layer.cluster === "auto" ? overlaps(layer) : !!layer.cluster;
      var icons = {};
      function iconFor(f) {
        if (!f.m) {
          var quick = (f.k || 0) + (f.c || "") + (f.a ? "a" : "") + "#" + (f.no || "");
          if (!icons[quick]) icons[quick] = makeIcon([styleOf(layer, f)], !!f.a, f.no);
          return icons[quick];
        }
        var styles = [styleOf(layer, f)];
        (f.m || []).forEach(function (g) {
          var o = layersById[g.L];
          if (o) styles.push(styleOf(o, g));
        });
        var key = styles.map(function (st) { return st.path + st.color; }).join("|") + (f.a ? "a" : "") +
          "#" + (f.no || "");
        if (!icons[key]) icons[key] = makeIcon(styles, !!f.a, f.no);
        return icons[key];
      }
      var group = layer.clustered
        ? L.markerClusterGroup({
            chunkedLoading: true,
            showCoverageOnHover: false,
            maxClusterRadius: 50,
            iconCreateFunction: function (cluster) {
              var d = el("div", "cm-cluster");
              d.style.borderColor = layer.color;
              d.style.color = layer.color;
              d.textContent = String(cluster.getChildCount());
              var w = el("div");
              w.appendChild(d);
              return L.divIcon({ html: w.innerHTML, className: "cm-cluster-icon", iconSize: [34, 34] });
            },
          })
        : L.featureGroup();
      var shapes = L.featureGroup();
      var markers = [];
      layer.features.forEach(function (f) {
        var m = new PlaceMarker(f.ll, {
          icon: iconFor(f),
          // a route or zone from uMap/My Maps is drawn as itself: its marker is only where
          // its label and popup sit (and what search opens); greyed: closed, or stale
          opacity: f.ss ? 0 : f.g ? 0.4 : 1,
          interactive: !f.ss,
          title: f.n || "",
          alt: f.n || "",
          keyboard: !f.ss,
        });
        m.cmLayer = layer.id;
        m.cmFeature = f;
        m.cmPopup = popupFactory(layer, f);
        if (layer.labels && f.l) {
          m.cmLabel = esc(f.l);
          unlabelled.push(m);
        }
        if (f.s !== undefined) {
          var drawn = L.geoJSON(layer.shapes[f.s], {
            style: f.ss ? shapeStyle(layer, f) : { color: styleOf(layer, f).color, weight: 2, fillOpacity: 0.12 },
            interactive: !!f.ss, // a route or zone from uMap/My Maps opens its popup as there
          }).addTo(shapes);
          if (f.ss) drawn.on("click", function () { if (m._map) m.openPopup(); });
        }
        markers.push(m);
        search.push({ f: f, m: m, group: group, layer: layer });
        (f.m || []).forEach(function (g) {
          var o = layersById[g.L];
          if (o) search.push({ f: g, m: m, group: group, layer: o, host: layer });
        });
      });
      if (layer.clustered) group.addLayers(markers);
      else markers.forEach(function (m) { group.addLayer(m); });
      shelterGroups.push({ group: group, markers: markers });
      var both = L.layerGroup([shapes, group]);
      both.addTo(map);
      layerGroups[layer.id] = both;
      var wrap = el("span");
      var label = el("span", "cm-layer-name");
      label.appendChild(layerMark(layer));
      label.appendChild(el("span", null, layer.title));
      wrap.appendChild(label);
      overlays[wrap.innerHTML] = both;
    });
    drawHazards(map, data, overlays);
    // Which markers show: every rule (the disaster choice, the viewer's filters) must keep
    // a marker; a hidden one leaves its group (and its cluster's count) and the search.
    var markerRules = {};
    var ruleListeners = [];  // called after every change (the filters recount the legend)
    function setRule(name, rule) {
      if (rule) markerRules[name] = rule;
      else delete markerRules[name];
      shelterGroups.forEach(function (sg) {
        var show = [], hide = [];
        sg.markers.forEach(function (m) {
          var keep = true;
          for (var k in markerRules) if (!markerRules[k](m)) { keep = false; break; }
          m.cmHidden = !keep;
          (keep ? show : hide).push(m);
        });
        if (sg.group.removeLayers) { sg.group.removeLayers(hide); sg.group.addLayers(show); }
        else {
          hide.forEach(function (m) { sg.group.removeLayer(m); });
          show.forEach(function (m) { sg.group.addLayer(m); });
        }
      });
      ruleListeners.forEach(function (fn) { fn(); });
    }
    disasterView(map, data, setRule);
    var routes = drawRoutes(map, data);
    if (routes) {
      routes.addTo(map);
      var rw = el("span", "cm-layer-name");
      rw.appendChild(el("span", null, T.routes));
      overlays[rw.outerHTML] = routes;
    }
    L.control.layers(bases, overlays, { collapsed: true, position: "topright" }).addTo(map);

    // Labels only when zoomed in enough to read them. A label is made the first time
    // labels show, all at once: Leaflet measures each label as it adds it, which makes the
    // browser lay out the whole page again per label (seconds for a city's hundreds). So
    // they are added while their pane is hidden (nothing to lay out), then placed in one
    // pass once it shows (one layout: placing moves a label, it does not resize it).
    function labelZoom() {
      var c = map.getContainer();
      if (map.getZoom() < 16) {
        c.classList.add("cm-hide-labels");
        return;
      }
      c.classList.remove("cm-hide-labels");
      if (!unlabelled.length) return;
      var pane = map.getPane("tooltipPane");
      pane.style.display = "none";
      var made = unlabelled.splice(0).map(function (m) {
        return m.bindTooltip(m.cmLabel, {
          permanent: true,
          direction: "right",
          className: "cm-label",
          interactive: false,
        }).getTooltip();
      });
      pane.style.display = "";
      made.forEach(function (t) { if (t._map) t._updatePosition(); });
    }
    map.on("zoomend", labelZoom);

    // Controls: locate, full screen, search.
    if (L.control.locate) {
      L.control
        .locate({
          position: "topleft",
          flyTo: true,
          strings: { title: T.locate, popup: T.locate_popup, metersUnit: "m" },
          locateOptions: { maxZoom: 17, enableHighAccuracy: true },
        })
        .addTo(map);
    }
    if (L.control.fullscreen) {
      L.control
        .fullscreen({ position: "topleft", title: T.fullscreen, titleCancel: T.fullscreen_exit, forceSeparateButton: true })
        .addTo(map);
    }
    var sheet = bottomSheet(map, T);
    controlBox("topleft", "cm-search", function (div) {
      var input = el("input");
      input.type = "search";
      input.placeholder = T.search;
      input.setAttribute("aria-label", T.search);
      var list = el("ul", "cm-results");
      div.appendChild(input);
      div.appendChild(list);
      // NFKC, lower case, katakana as hiragana: ホイク, ほいく and ﾎｲｸ all match.
      function norm(s) {
        return String(s || "").normalize("NFKC").toLowerCase()
          .replace(/[\u30a1-\u30f6]/g, function (c) { return String.fromCharCode(c.charCodeAt(0) - 0x60); })
          .replace(/\s+/g, "");
      }
      var index = null;
      function buildIndex() {
        index = search.map(function (s) {
          var st = styleOf(s.layer, s.f);
          return [s.f.n, s.f.o, s.f.r, s.f.rm, s.f.ad, st.title, s.layer.title].map(norm).join("\u0001");
        });
      }
      input.addEventListener("input", function () {
        var q = norm(input.value.trim());
        list.textContent = "";
        sheet.hide(); // the results list and an open sheet would share a phone's screen
        if (!q) return;
        if (!index) buildIndex();
        var hits = [];
        for (var i = 0; i < search.length && hits.length < 40; i++) {
          if (index[i].indexOf(q) >= 0 && !search[i].m.cmHidden) hits.push(search[i]);
        }
        if (!hits.length) list.appendChild(el("li", "cm-none", T.no_match));
        // Grouped by layer, in the map's layer order.
        data.layers.forEach(function (layer) {
          var mine = hits.filter(function (s) { return s.layer.id === layer.id; });
          if (!mine.length) return;
          var head = el("li", "cm-results-layer", layer.title);
          head.setAttribute("data-layer", layer.id);
          list.appendChild(head);
          mine.forEach(function (s) {
            var li = el("li", "cm-hit");
            li.setAttribute("data-layer", layer.id);
            li.appendChild(symbolSvg(styleOf(s.layer, s.f), !!s.f.a));
            var no = s.m.cmFeature && s.m.cmFeature.no;  // the marker's (host's) number
            if (no) li.appendChild(el("span", "cm-no", String(no)));
            var txt = el("span", "cm-hit-text");
            txt.appendChild(el("span", "cm-hit-name" + (s.f.u ? " cm-unnamed" : ""), s.f.n));
            if (s.f.ad) txt.appendChild(el("span", "cm-hit-address", s.f.ad));
            li.appendChild(txt);
            li.tabIndex = 0;
            function go() {
              // the list closes and the box lets go (a phone's keyboard folds away),
              // so neither covers the popup about to open
              list.textContent = "";
              input.blur();
              var host = s.host || s.layer;
              var open = function () { s.m.openPopup(); };
              if (!map.hasLayer(layerGroups[host.id])) layerGroups[host.id].addTo(map);
              if (host.clustered) s.group.zoomToShowLayer(s.m, open);
              else {
                map.setView(s.m.getLatLng(), Math.max(map.getZoom(), 17), { animate: false });
                setTimeout(open, 0);
              }
            }
            li.addEventListener("click", go);
            li.addEventListener("keydown", function (e) { if (e.key === "Enter") go(); });
            list.appendChild(li);
          });
        });
      });
    }).addTo(map);

    // Legend, with the credits and dates; folded on small screens.
    var legendDetails = null;
    var legendCounts = {};  // layer id -> {el, cats: {category: el}}: the filters rewrite them
    var legend = controlBox("bottomright", "cm-legend", function (div) {
      var det = el("details");
      legendDetails = det;
      if (window.innerWidth > 640) det.open = true;
      window.addEventListener("beforeprint", function () { det.open = true; });
      // A window made narrow (a phone turned, a browser resized) folds the legend, as at load,
      // so it does not cover the map; made wide again, it opens.
      if (window.matchMedia) {
        var narrow = window.matchMedia("(max-width: 640px)");
        var fold = function () { det.open = !narrow.matches; };
        if (narrow.addEventListener) narrow.addEventListener("change", fold);
        else if (narrow.addListener) narrow.addListener(fold);
      }
      det.appendChild(el("summary", null, T.legend));
      var ul = el("ul");
      var anyApprox = false;
      var disaster = map.getContainer().getAttribute("data-disaster") || "";  // the view chosen
      data.layers.forEach(function (layer) {
        var styles = layer.styles || [];
        var li = el("li", "cm-legend-layer");
        li.setAttribute("data-layer", layer.id);
        li.appendChild(layerMark(layer));
        li.appendChild(el("span", null, layer.title + " "));
        var lc = el("span", "cm-count", T.count.replace("{n}", disasterCount(data, layer, null, disaster)));
        legendCounts[layer.id] = { el: lc, cats: {} };
        li.appendChild(lc);
        ul.appendChild(li);
        if (styles.length > 1) {
          styles.forEach(function (st, k) {
            var ci = el("li", "cm-legend-category");
            ci.setAttribute("data-layer", layer.id);
            ci.setAttribute("data-category", st.name);
            ci.appendChild(symbolSvg(st, false));
            ci.appendChild(el("span", null, (st.title || layer.title) + " "));
            var cc = el("span", "cm-count", T.count.replace("{n}", disasterCount(data, layer, k, disaster)));
            legendCounts[layer.id].cats[st.name] = cc;
            ci.appendChild(cc);
            ul.appendChild(ci);
          });
        }
        if (layer.features.some(function (f) { return f.a; })) anyApprox = styles[0] || layer;
      });
      if (anyApprox) {
        var li = el("li", "cm-legend-approx");
        li.appendChild(symbolSvg(anyApprox, true));
        li.appendChild(el("span", null, T.approximate));
        ul.appendChild(li);
      }
      if (data.routes && data.routes.items.length) {
        var lh = el("li", "cm-legend-home");
        lh.appendChild(el("span", "cm-home-pin cm-home-small", "⌂"));
        lh.appendChild(el("span", null, T.home));
        ul.appendChild(lh);
        var its = data.routes.items;
        var kinds = [
          [true, true, T.nearest_walk, its.some(function (r) { return r.nearest; })],
          [true, false, T.walk_route, its.some(function (r) { return r.walk && !r.nearest; })],
          [false, false, T.straight_route, its.some(function (r) { return !r.walk; })],
        ];
        kinds.forEach(function (k) {
          if (!k[3]) return;
          var li = el("li", "cm-legend-route");
          li.appendChild(routeSwatch(k[0], k[1]));
          li.appendChild(el("span", null, k[2]));
          ul.appendChild(li);
        });
        // What the routes rest on: layers counted, missing disaster info, fallback.
        (data.routes.notes || []).forEach(function (n) {
          ul.appendChild(el("li", "cm-legend-route-note", n));
        });
      }
      hazardLegend(ul, data);
      if (data.edge) {
        var le = el("li", "cm-legend-edge");
        le.appendChild(el("span", "cm-dash"));
        le.appendChild(el("span", null, T.edge));
        ul.appendChild(le);
      }
      det.appendChild(ul);
      var cr = el("div", "cm-credits");
      cr.appendChild(el("strong", null, T.credits));
      data.credits.forEach(function (c) { cr.appendChild(el("div", null, c)); });
      // the data's own date (civicmap.mapdata.data_time), not the day the page was made
      if (data.built) cr.appendChild(el("div", "cm-built", T.data_as_of + ": " + data.built));
      det.appendChild(cr);
      div.appendChild(det);
    }).addTo(map);
    data.credits.forEach(function (c) {
      map.attributionControl.addAttribution(esc(c));
    });

    printList(data, T);
    printView(map, legend.getContainer(), legendDetails, placeBounds, sheet);
    labelZoom();
    // Phones: the full-width credits line would cover the bottom-left corner (the
    // offline banner, the scale); lift that corner above it.
    function liftCorner() {
      var c = map.getContainer();
      var bl = c.querySelector(".leaflet-bottom.leaflet-left");
      var at = c.querySelector(".leaflet-control-attribution");
      if (!bl || !at) return;
      var narrow = c.clientWidth <= 640;
      bl.style.bottom = narrow ? at.offsetHeight + "px" : "";
    }
    liftCorner();
    map.on("resize", liftCorner);
    window.civicmapData = { map: map, layers: layerGroups, data: data, routes: routes, basemapCount: basemap.cmCount };
    var api = { texts: T, groups: shelterGroups, setRule: setRule, legendCounts: legendCounts,
                onRules: function (fn) { ruleListeners.push(fn); },
                sheet: sheet, controlBox: controlBox, el: el };
    plugins.forEach(function (fn) { fn(map, data, api); });
    return map;
  }

  // Printing (the browser's print, or print media emulated): the map is given the
  // printed size and fitted to the places, the legend moves out of the map to below it
  // (on paper it would hide part of the map), popups and the sheet close. Afterwards the
  // page is put back as it was.
  var PRINT_W = "190mm", PRINT_H = "170mm"; // civicmap.css @media print
  function printView(map, legend, details, bounds, sheet) {
    var c = map.getContainer();
    var home = null;
    var view = null;
    var on = false;
    function toPrint(printing) {
      if (printing === on) return;
      on = printing;
      if (printing) {
        view = { center: map.getCenter(), zoom: map.getZoom(), open: details && details.open };
        home = { parent: legend.parentNode, next: legend.nextSibling };
        c.parentNode.insertBefore(legend, c.nextSibling);
        legend.classList.add("cm-legend-printed");
        if (details) details.open = true;
        map.closePopup();
        sheet.hide();
        c.style.width = PRINT_W;
        c.style.height = PRINT_H;
        map.invalidateSize({ animate: false, pan: false });
        // fractional zoom: on paper the places fill the frame (no tile steps to keep)
        view.snap = map.options.zoomSnap;
        map.options.zoomSnap = 0;
        // clear of what prints over the map: the title at the top, the credits at the bottom
        var top = 0, bottom = 0;
        var t = c.querySelector(".cm-title");
        var a = c.querySelector(".leaflet-control-attribution");
        if (t) top = t.getBoundingClientRect().bottom - c.getBoundingClientRect().top;
        if (a) bottom = a.offsetHeight;
        if (bounds.isValid()) {
          map.fitBounds(bounds, {
            paddingTopLeft: [24, top + 16], paddingBottomRight: [24, bottom + 16],
            maxZoom: 18, animate: false,
          });
        }
      } else {
        legend.classList.remove("cm-legend-printed");
        if (home) home.parent.insertBefore(legend, home.next);
        if (details && view) details.open = view.open;
        c.style.width = "";
        c.style.height = "";
        map.invalidateSize({ animate: false, pan: false });
        if (view) {
          map.options.zoomSnap = view.snap;
          map.setView(view.center, view.zoom, { animate: false });
        }
      }
    }
    window.addEventListener("beforeprint", function () { toPrint(true); });
    window.addEventListener("afterprint", function () { toPrint(false); });
    if (window.matchMedia) {
      var mq = window.matchMedia("print");
      var follow = function () { toPrint(mq.matches); };
      if (mq.addEventListener) mq.addEventListener("change", follow);
      else if (mq.addListener) mq.addListener(follow);
    }
  }

  // A numbered list of every place, shown only when printing (after the map and legend),
  // numbered as the paper index (f.no); one entry per number.
  function printList(data, T) {
    var built = false;
    var box = el("section", "cm-print-list");
    box.setAttribute("aria-hidden", "true");
    document.body.appendChild(box);
    function build() {
      if (built) return;
      built = true;
      box.appendChild(el("h2", null, T.list));
      var n = 0;
      data.layers.forEach(function (layer) {
        if (!layer.features.length) return;
        box.appendChild(el("h3", null, layer.title));
        var ol = el("ol");
        ol.start = n + 1;
        var listed = {};
        layer.features.slice().sort(function (a, b) {
          return (a.no || Infinity) - (b.no || Infinity) || 0;
        }).forEach(function (f) {
          if (f.no && listed[f.no]) return; // one site under two names: one entry
          if (f.no) listed[f.no] = 1;
          n++;
          var li = el("li", null, f.n + (f.ad ? "　" + f.ad : ""));
          if (f.no) li.value = f.no;
          (f.m || []).forEach(function (g) {
            var o = null;
            data.layers.forEach(function (l) { if (l.id === g.L) o = l; });
            if (o) li.appendChild(el("span", "cm-print-also", "（" + o.title + "）"));
          });
          ol.appendChild(li);
        });
        box.appendChild(ol);
      });
    }
    var total = 0;
    data.layers.forEach(function (l) { total += l.features.length; });
    if (total <= 3000) build();
    window.addEventListener("beforeprint", build);
  }

  return { draw: draw, esc: esc, use: use };
})();
