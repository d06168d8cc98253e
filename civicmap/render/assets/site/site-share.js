/* civicmap site: the share box. A button on the map opens a panel with the site's address,
 * its QR code (written at build from site.url), copy and share buttons, whether the map is
 * kept on this device, and the one button that removes the site's data from the device. */
(function () {
  "use strict";
  var site = window.civicmapSite = window.civicmapSite || { after: [] };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // The usual "share" glyph: three dots joined by two lines (drawn, no icon font).
  function shareIcon() {
    var NS = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "22");
    svg.setAttribute("height", "22");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(NS, "path");
    path.setAttribute("d", "M8.6 10.7l6.8-3.9M8.6 13.3l6.8 3.9");
    path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "2");
    svg.appendChild(path);
    [[6, 12], [18, 5], [18, 19]].forEach(function (c) {
      var dot = document.createElementNS(NS, "circle");
      dot.setAttribute("cx", c[0]);
      dot.setAttribute("cy", c[1]);
      dot.setAttribute("r", "3");
      dot.setAttribute("fill", "currentColor");
      svg.appendChild(dot);
    });
    return svg;
  }

  site.after.push(function (map, data, conf) {
    var T = conf.texts;
    // the page's own filter (#f=…, civicmap-filters.js) travels with the shared link
    function current() { return (conf.url || window.location.href.split("#")[0]) + window.location.hash; }
    var link = current();
    var panel = el("div", "cm-site-panel");
    panel.id = "cm-site-panel";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", T.menu);
    panel.hidden = true;
    panel.appendChild(el("h2", null, T.share));
    if (conf.qr) {
      var img = el("img", "cm-site-qr");
      img.src = conf.qr;
      img.alt = T.qr_alt;
      img.width = 132;
      img.height = 132;
      panel.appendChild(img);
    }
    var a = el("a", "cm-site-url", link);
    a.href = link;
    panel.appendChild(a);
    var row = el("div", "cm-site-buttons");
    var copy = el("button", null, T.copy);
    copy.type = "button";
    copy.addEventListener("click", function () {
      if (navigator.clipboard) {
        navigator.clipboard.writeText(link).then(function () { copy.textContent = T.copied; }, function () {});
      }
    });
    row.appendChild(copy);
    if (navigator.share) {
      var share = el("button", null, T.share_button);
      share.type = "button";
      share.addEventListener("click", function () {
        navigator.share({ title: data.title, url: link }).catch(function () {});
      });
      row.appendChild(share);
    }
    panel.appendChild(row);
    panel.appendChild(el("h2", null, T.offline));
    var state = el("p", "cm-site-offline-state");
    panel.appendChild(state);
    var texts = { ready: T.offline_ready, saving: T.offline_saving, unavailable: T.offline_unavailable,
                  failed: T.offline_failed, removed: T.removed, none: "" };
    site.onOfflineState = function (s) { state.textContent = texts[s] || ""; };
    if (site.offline) site.onOfflineState(site.offline.state);
    var remove = el("button", "cm-site-remove", T.remove);
    remove.type = "button";
    remove.addEventListener("click", function () {
      remove.disabled = true;
      site.removeData().then(function () { site.onOfflineState("removed"); });
    });
    panel.appendChild(remove);
    var close = el("button", "cm-site-close", T.close);
    close.type = "button";
    panel.appendChild(close);
    document.body.appendChild(panel);

    var open = null;
    var Ctl = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var box = L.DomUtil.create("div", "leaflet-bar cm-site-menu");
        var b = L.DomUtil.create("a", "cm-site-menu-button", box);
        b.href = "#";
        b.setAttribute("role", "button");
        b.setAttribute("aria-label", T.menu);
        b.setAttribute("aria-controls", "cm-site-panel");
        b.setAttribute("aria-expanded", "false");
        b.title = T.menu;
        b.appendChild(shareIcon());
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.on(b, "click", function (e) {
          L.DomEvent.preventDefault(e);
          open(panel.hidden);
        });
        open = function (show) {
          if (show) {
            link = current();
            a.textContent = link;
            a.href = link;
            copy.textContent = T.copy;
          }
          panel.hidden = !show;
          b.setAttribute("aria-expanded", show ? "true" : "false");
          if (show) close.focus();
          else b.focus();
        };
        return box;
      },
    });
    new Ctl().addTo(map);
    close.addEventListener("click", function () { open(false); });
    document.addEventListener("keydown", function (e) { if (e.key === "Escape" && !panel.hidden) open(false); });
  });
})();
