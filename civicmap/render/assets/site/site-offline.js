/* civicmap site: offline after one visit. Registers the service worker (sw.js precaches
 * every file of the site), asks for persistent storage, shows the data date and, past
 * stale_after, how old the data is; online, asks version.json whether a newer build exists
 * and offers to update; removes the site's data on request (caches + worker). */
(function () {
  "use strict";
  var site = window.civicmapSite = window.civicmapSite || { after: [] };
  var DAY = 86400000;

  // Days since the data date (YYYY-MM-DD), in whole days, or null when no date is known.
  site.dataAge = function (built, now) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(built || "");
    if (!m) return null;
    return Math.floor(((now || Date.now()) - Date.UTC(+m[1], +m[2] - 1, +m[3])) / DAY);
  };

  function cachePrefix(reg) { return "civicmap:" + reg.scope + ":"; }

  site.after.push(function (map, data, conf) {
    var T = conf.texts;
    site.offline = { state: "none" };
    // the data date, always visible under the title (not folded away in the legend)
    var title = document.querySelector(".cm-title");
    if (title && conf.built) {
      var d = document.createElement("div");
      d.className = "cm-site-date";
      d.textContent = T.data_as_of + " " + conf.built;
      title.appendChild(d);
    }
    var age = site.dataAge(conf.built);
    if (age !== null && age > conf.stale_after) {
      site.bar("cm-site-stale", T.stale.replace("{days}", String(age))).setAttribute("role", "alert");
    }

    var status = function (state) {
      site.offline.state = state;
      document.documentElement.setAttribute("data-offline", state);
      if (site.onOfflineState) site.onOfflineState(state);
    };
    if (!("serviceWorker" in navigator) || !window.caches) {
      status("unavailable");
      return;
    }
    status("saving");
    navigator.serviceWorker.register("sw.js").then(function (reg) {
      site.registration = reg;
      if (navigator.storage && navigator.storage.persist) {
        navigator.storage.persisted().then(function (yes) {
          return yes || navigator.storage.persist();
        }).then(function (yes) { site.offline.persisted = !!yes; }, function () {});
      }
      // a first install that fails (a file of the site missing on the host) says so
      var watchInstall = function (w) {
        if (!w) return;
        w.addEventListener("statechange", function () {
          if (w.state === "redundant" && !reg.active) status("failed");
        });
      };
      watchInstall(reg.installing);
      reg.addEventListener("updatefound", function () { watchInstall(reg.installing); });
      // ready: this page's version is cached whole and a worker is active to answer from it (a
      // cache still being filled by an installing worker, or left by one that failed, does not
      // count). Asked again each time a worker of this site changes state, so "ready" shows
      // the moment it is true, with no timer running.
      var isReady = false;
      var check = function () {
        if (isReady || !reg.active) return;
        caches.has(cachePrefix(reg) + conf.version).then(function (h) {
          if (h && !reg.installing && !isReady) {
            isReady = true;
            status("ready");
          }
        });
      };
      var follow = function (w) { if (w) w.addEventListener("statechange", check); };
      follow(reg.installing);
      follow(reg.waiting);
      reg.addEventListener("updatefound", function () { follow(reg.installing); });
      navigator.serviceWorker.addEventListener("controllerchange", check);
      navigator.serviceWorker.ready.then(check);
      watchUpdates(reg, conf, T);
    }, function () { status("failed"); });
  });

  function watchUpdates(reg, conf, T) {
    var offered = false;
    function offer() {
      if (offered) return;
      offered = true;
      var bar = site.bar("cm-site-update", T.update);
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = T.update_button;
      b.addEventListener("click", function () {
        b.disabled = true;
        var reload = function () { window.location.reload(); };
        navigator.serviceWorker.addEventListener("controllerchange", reload);
        reg.update().then(function () {
          var w = reg.waiting || reg.installing;
          if (!w) return reload();
          var go = function () {
            if (w.state === "installed") w.postMessage("skip-waiting");
            else if (w.state === "activated" || w.state === "redundant") reload();
          };
          w.addEventListener("statechange", go);
          go();
        }, reload);
      });
      bar.appendChild(b);
      site.updateOffered = true;
    }
    if (reg.waiting && navigator.serviceWorker.controller) offer();
    reg.addEventListener("updatefound", function () {
      if (navigator.serviceWorker.controller) offer(); // not the first install
    });
    function check() {
      if (navigator.onLine === false) return;
      fetch(conf.versionFile || "version.json", { cache: "no-store" }).then(function (r) {
        return r.ok ? r.json() : null;
      }).then(function (v) {
        if (v && v.version && v.version !== conf.version) offer();
      }, function () {});
    }
    check();
    window.addEventListener("online", check);
  }

  // Everything this site keeps on the device: its caches and its worker.
  site.removeData = function () {
    var reg = site.registration;
    var prefix = reg ? cachePrefix(reg) : "civicmap:";
    return caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k.indexOf(prefix) === 0; })
        .map(function (k) { return caches.delete(k); }));
    }).then(function () {
      return reg ? reg.unregister() : true;
    }).then(function () {
      site.offline.state = "removed";
      document.documentElement.setAttribute("data-offline", "removed");
    });
  };
})();
