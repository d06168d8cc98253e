/* civicmap site: the boot. Loads data.json (the single-file page's payload) and site.json,
 * draws the map with civicmap.draw exactly as the single-file page does, then runs every hook
 * the other site scripts registered on civicmapSite.after (offline, share, ...).
 * Text from data only ever reaches the page through textContent (civicmap.js, these files). */
(function () {
  "use strict";
  var site = window.civicmapSite = window.civicmapSite || { after: [] };

  function getJSON(url) {
    return fetch(url).then(function (r) {
      if (!r.ok) throw new Error(url + ": " + r.status);
      return r.json();
    });
  }

  // A bar above the map (stale data, a newer version): the map gives it room.
  site.bar = function (cls, text) {
    var bars = document.getElementById("cm-site-bars");
    var div = document.createElement("div");
    div.className = "cm-site-bar " + cls;
    var span = document.createElement("span");
    span.textContent = text;
    div.appendChild(span);
    bars.appendChild(div);
    if (site.map) site.map.invalidateSize({ animate: false });
    return div;
  };

  function start() {
    Promise.all([getJSON("data.json"), getJSON("site.json")]).then(function (got) {
      var data = got[0];
      var conf = got[1];
      var map = L.map("map", { center: conf.center, zoom: 16, zoomControl: true });
      civicmap.draw(map, data);
      site.map = map;
      site.data = data;
      site.conf = conf;
      site.after.forEach(function (hook) { hook(map, data, conf); });
      site.drawn = true;
    }).catch(function (err) {
      document.getElementById("cm-site-failed").hidden = false;
      if (window.console) console.error(err);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
