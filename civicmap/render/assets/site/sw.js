/* civicmap site: the service worker. civicmap writes `CIVICMAP_SW` above this line:
 * {version, files (every file of the site, relative to this worker), versionFile}.
 * It precaches exactly those files (same origin only: background tiles from a server whose
 * terms forbid storing them are never listed, never cached), answers from that cache first,
 * and lets the page decide when a newer build takes over ("skip-waiting"). */
"use strict";
var PREFIX = "civicmap:" + self.registration.scope + ":";
var CACHE = PREFIX + CIVICMAP_SW.version;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      // a few at a time: a site with thousands of tiles must not open thousands of requests
      var files = CIVICMAP_SW.files.slice();
      function next() {
        var batch = files.splice(0, 16);
        if (!batch.length) return Promise.resolve();
        return cache.addAll(batch.map(function (f) { return new Request(f, { cache: "reload" }); }))
          .then(next);
      }
      return next();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.map(function (k) {
        if (k.indexOf(PREFIX) === 0 && k !== CACHE) return caches.delete(k);
        return null;
      }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("message", function (event) {
  if (event.data === "skip-waiting") self.skipWaiting();
});

self.addEventListener("fetch", function (event) {
  var req = event.request;
  if (req.method !== "GET") return;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) return; // other hosts: the browser's own business
  if (url.pathname.slice(-CIVICMAP_SW.versionFile.length - 1) === "/" + CIVICMAP_SW.versionFile) {
    return; // always asked of the network: it says whether a newer build exists
  }
  event.respondWith(
    caches.open(CACHE).then(function (cache) {
      // a shared link may carry a query (?…): the page is the same file
      return cache.match(req, { ignoreSearch: true }).then(function (hit) {
        return hit || fetch(req);
      });
    })
  );
});
