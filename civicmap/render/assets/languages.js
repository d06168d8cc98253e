// civicmap: the page's language switch (same view, same open popup) and furigana (<ruby>).
// Reads the JSON block #civicmap-languages (civicmap/render/web_languages.py): sibling
// pages {lang, file, name}, and for やさしい日本語 the fixed texts as patterns with readings.
// Every text is put in with textContent / DOM nodes: nothing from the page becomes HTML.
var civicmapLanguages = (function () {
  "use strict";
  var KANJI = /[\u3400-\u9fff\uf900-\ufaff々〆]/;

  function findMap() {
    // civicmap.js keeps its map there once drawn (window.civicmapData)
    return window.civicmapData ? window.civicmapData.map : null;
  }

  // ---- the map's state in the address: #lat,lng,zoom[,popup-lat,popup-lng]
  var lastPopup = null;

  function popupShown(map) {
    var sheet = map.getContainer().querySelector(".cm-sheet");
    if (sheet && !sheet.hidden) return true; // a phone: the popup moved into the sheet
    return !!(map._popup && map.hasLayer(map._popup));
  }

  function stateOf(map) {
    var c = map.getCenter();
    var parts = [c.lat.toFixed(6), c.lng.toFixed(6), map.getZoom()];
    if (lastPopup && popupShown(map)) parts.push(lastPopup.lat.toFixed(6), lastPopup.lng.toFixed(6));
    return parts.join(",");
  }

  function restore(map) {
    var m = /^#(-?[\d.]+),(-?[\d.]+),(\d+)(?:,(-?[\d.]+),(-?[\d.]+))?$/.exec(location.hash);
    if (!m) return;
    map.setView([+m[1], +m[2]], +m[3], { animate: false });
    if (m[4] === undefined) return;
    var want = L.latLng(+m[4], +m[5]);
    var groups = window.civicmapData.layers;
    var found = null;
    Object.keys(groups).forEach(function (id) {
      var group = groups[id];
      group.eachLayer(function walk(l) {
        if (found) return;
        if (l.eachLayer && !l.cmFeature) l.eachLayer(walk);
        else if (l.cmFeature && l.getLatLng && l.getLatLng().distanceTo(want) < 0.5) {
          found = { m: l, group: group };
        }
      });
    });
    if (!found) return;
    var open = function () { found.m.openPopup(); };
    var cluster = L.MarkerClusterGroup && found.group instanceof L.MarkerClusterGroup;
    // a marker inside a cluster is shown first (the cluster opens), then its popup
    if (cluster && found.group.getVisibleParent(found.m) !== found.m) {
      found.group.zoomToShowLayer(found.m, open);
    } else open();
  }

  function addSwitch(map, info) {
    // folded to one line (a phone has no room for ten names): the current language
    var nav = document.createElement("details");
    nav.className = "cm-languages";
    var summary = document.createElement("summary");
    summary.setAttribute("aria-label", "Language / 言語");
    nav.appendChild(summary);
    var list = document.createElement("nav");
    nav.appendChild(list);
    info.pages.forEach(function (p) {
      if (p.lang === info.current) summary.textContent = p.name;
      var a = document.createElement("a");
      a.textContent = p.name;
      a.lang = p.lang;
      a.hreflang = p.lang;
      a.setAttribute("href", encodeURI(p.file));
      if (p.title) a.title = p.title;
      if (p.lang === info.current) {
        a.setAttribute("aria-current", "page");
        a.className = "cm-language-current";
      }
      a.addEventListener("click", function (e) {
        if (p.lang === info.current) { e.preventDefault(); return; }
        a.setAttribute("href", encodeURI(p.file) + "#" + stateOf(map));
      });
      list.appendChild(a);
    });
    var box = L.control({ position: "topright" });
    box.onAdd = function () {
      L.DomEvent.disableClickPropagation(nav);
      return nav;
    };
    box.addTo(map);
  }

  // ---- furigana: a text node that is one of the glossary's texts gets <ruby> readings
  function compile(patterns) {
    return patterns.map(function (p) {
      return {
        re: new RegExp("^([^\\u3400-\\u9fff]*?)" + p.re + "([^\\u3400-\\u9fff]*)$"),
        inner: p.inner ? new RegExp("^([\\s\\S]*?)" + p.re + "([\\s\\S]*)$") : null,
        parts: p.parts,
      };
    });
  }

  function rubyFragment(pattern, m) {
    var frag = document.createDocumentFragment();
    if (m[1]) frag.appendChild(document.createTextNode(m[1]));
    pattern.parts.forEach(function (part) {
      if (part[0] === null) {
        frag.appendChild(document.createTextNode(m[2 + part[1]]));
      } else if (part[1]) {
        var r = document.createElement("ruby");
        r.appendChild(document.createTextNode(part[0]));
        var rt = document.createElement("rt");
        rt.textContent = part[1];
        r.appendChild(rt);
        frag.appendChild(r);
      } else {
        frag.appendChild(document.createTextNode(part[0]));
      }
    });
    var last = m[m.length - 1];
    if (last) frag.appendChild(document.createTextNode(last));
    return frag;
  }

  function annotate(root, patterns) {
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, null);
    var nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    nodes.forEach(function (node) {
      var text = node.nodeValue;
      if (!text || !KANJI.test(text)) return;
      var parent = node.parentNode;
      if (!parent || parent.closest("ruby, script, style, textarea, .cm-no-ruby")) return;
      var i, m;
      for (i = 0; i < patterns.length; i++) {
        m = patterns[i].re.exec(text);
        if (m) {
          parent.replaceChild(rubyFragment(patterns[i], m), node);
          return;
        }
      }
      // a fixed text inside a longer text (a credit line): annotated where it stands; the
      // text after it is a node of its own, looked at again by the next run
      for (i = 0; i < patterns.length; i++) {
        m = patterns[i].inner && patterns[i].inner.exec(text);
        if (m) {
          parent.replaceChild(rubyFragment(patterns[i], m), node);
          return;
        }
      }
    });
  }

  function start() {
    var block = document.getElementById("civicmap-languages");
    if (!block) return;
    var info = JSON.parse(block.textContent);
    var map = findMap();
    if (!map) return;
    map.on("popupopen", function (e) { lastPopup = e.popup.getLatLng(); });
    if (info.pages.length > 1) addSwitch(map, info);
    if (info.ruby.length) {
      var patterns = compile(info.ruby);
      var busy = false;
      var run = function () {
        if (busy) return;
        busy = true;
        annotate(document.body, patterns);
        busy = false;
      };
      run();
      new MutationObserver(run).observe(document.body, { childList: true, subtree: true });
    }
    restore(map);
  }

  if (document.readyState === "complete") setTimeout(start, 0);
  else window.addEventListener("load", function () { setTimeout(start, 0); });
  return { start: start };
})();
