/* civicmap web map: filters the viewer sets on the page (render/web_filters.py).
 * The build computed every value (layer.filters[].v, one per row ``i`` of the layer);
 * this script only compares them. Filtering hides markers (never renumbers them), the
 * legend counts follow, and the URL's #f=… keeps the filter so a shared link opens
 * filtered. Text from data is only ever set with textContent. */
(function () {
  "use strict";
  if (!window.civicmap || !civicmap.use) return;

  civicmap.use(function (map, data, api) {
    var T = api.texts;
    var el = api.el;
    var layers = data.layers.filter(function (l) { return l.filters && l.filters.length; });
    if (!layers.length) return;

    // The state of each filter, by key "<layer index>.<filter n>":
    // category: {k: true} of the categories shown, or null (all); flag: true or absent;
    // ages/disasters: a bit mask of the checked options; number/time: [low, high] (null = open).
    var state = {};
    var controls = {};  // key -> {set(value), kind}
    var layerIndex = {};
    data.layers.forEach(function (l, i) { layerIndex[l.id] = i; });
    function keyOf(layer, f) { return layerIndex[layer.id] + "." + f.n; }

    function passesRow(layer, i, k) {
      if (!layer || !layer.filters) return true;
      for (var j = 0; j < layer.filters.length; j++) {
        var f = layer.filters[j];
        var s = state[keyOf(layer, f)];
        if (s === undefined || s === null) continue;
        if (f.kind === "category") {
          if (!s[k || 0]) return false;
        } else if (f.kind === "flag") {
          if (!f.v[i]) return false;
        } else if (f.kind === "ages" || f.kind === "disasters") {
          var v = f.v[i];
          if (v === null || v === undefined || (v & s) !== s) return false;
        } else {
          var x = f.v[i];
          if (x === null || x === undefined) return false;
          if (s[0] !== null && x < s[0]) return false;
          if (s[1] !== null && x > s[1]) return false;
        }
      }
      return true;
    }
    var byId = {};
    data.layers.forEach(function (l) { byId[l.id] = l; });
    // A marker shows when its place, or another designation drawn with it, passes.
    function keepMarker(m) {
      var f = m.cmFeature;
      if (passesRow(byId[m.cmLayer], f.i, f.k)) return true;
      return (f.m || []).some(function (g) { return passesRow(byId[g.L], g.i, g.k); });
    }
    function active() {
      return Object.keys(state).filter(function (key) { return state[key] !== null && state[key] !== undefined; });
    }

    // Legend counts: every place of the layer (its own markers and its places drawn with
    // another layer's marker) that passes, per category; with a disaster chosen (the disaster
    // view, civicmap.js) only the shelter sites suited to it (d: the disasters a site suits).
    var entries = {};
    data.layers.forEach(function (l) { entries[l.id] = []; });
    data.layers.forEach(function (l) {
      l.features.forEach(function (f) {
        entries[l.id].push({ i: f.i, k: f.k || 0, d: f.d });
        (f.m || []).forEach(function (g) {
          if (entries[g.L]) entries[g.L].push({ i: g.i, k: g.k || 0, d: g.d });
        });
      });
    });
    function suits(e, key) { return !key || e.d === undefined || e.d.indexOf(key) >= 0; }
    var status = null;
    function recount() {
      var on = active().length > 0;
      var key = map.getContainer().getAttribute("data-disaster") || "";
      var total = 0;
      var filtered = {};  // layers with a filter set: only their counts say "of all"
      active().forEach(function (key) { filtered[key.split(".")[0]] = true; });
      data.layers.forEach(function (l) {
        var lc = api.legendCounts[l.id];
        var lon = on && filtered[layerIndex[l.id]];
        var n = 0, per = {};
        entries[l.id].forEach(function (e) {
          if (passesRow(l, e.i, e.k) && suits(e, key)) { n++; per[e.k] = (per[e.k] || 0) + 1; }
        });
        if (lon) total += n;
        if (!lc) return;
        lc.el.textContent = lon ? T.count_filtered.replace("{n}", n).replace("{total}", l.count)
                                : T.count.replace("{n}", key ? n : l.count);
        (l.styles || []).forEach(function (st, k) {
          var ce = lc.cats[st.name];
          if (!ce) return;
          ce.textContent = lon ? T.count_filtered.replace("{n}", per[k] || 0).replace("{total}", st.count)
                               : T.count.replace("{n}", key ? per[k] || 0 : st.count);
        });
      });
      if (status) status.textContent = on ? T.filter_match.replace("{n}", total) : "";
    }

    // The URL keeps the filter: #f=<layer>.<n>:<value>;… (nothing when no filter is set).
    function encode() {
      return active().sort().map(function (key) {
        var s = state[key], f = controls[key].filter, v;
        if (f.kind === "category") v = Object.keys(s).sort().join(",");
        else if (f.kind === "flag") v = "1";
        else if (f.kind === "ages") v = f.ages.filter(function (a, b) { return s & (1 << b); }).join(",");
        else if (f.kind === "disasters") {
          v = f.options.filter(function (o, b) { return s & (1 << b); }).map(function (o) { return o[0]; }).join(",");
        } else v = (s[0] === null ? "" : s[0]) + "-" + (s[1] === null ? "" : s[1]);
        return key + ":" + v;
      }).join(";");
    }
    function decode(hash) {
      var out = {};
      var m = /(?:^#|&)f=([^&]*)/.exec(hash || "");
      if (!m) return out;
      var text;
      try { text = decodeURIComponent(m[1]); } catch (e) { return out; }
      text.split(";").forEach(function (part) {
        var p = /^(\d+\.\d+):(.*)$/.exec(part);
        if (!p || !controls[p[1]]) return;
        var f = controls[p[1]].filter, v = p[2], list = v ? v.split(",") : [];
        if (f.kind === "category") {
          var cats = {};
          list.forEach(function (k) { if (/^\d+$/.test(k)) cats[+k] = true; });
          out[p[1]] = cats;
        } else if (f.kind === "flag") {
          if (v === "1") out[p[1]] = true;
        } else if (f.kind === "ages" || f.kind === "disasters") {
          var mask = 0;
          (f.kind === "ages" ? f.ages.map(String) : f.options.map(function (o) { return o[0]; }))
            .forEach(function (o, b) { if (list.indexOf(o) >= 0) mask |= 1 << b; });
          if (mask) out[p[1]] = mask;
        } else {
          var r = /^([0-9.]*)-([0-9.]*)$/.exec(v);
          if (!r) return;
          var lo = r[1] === "" ? null : parseFloat(r[1]), hi = r[2] === "" ? null : parseFloat(r[2]);
          if (isNaN(lo)) lo = null;
          if (isNaN(hi)) hi = null;
          if (lo !== null || hi !== null) out[p[1]] = [lo, hi];
        }
      });
      return out;
    }
    function writeUrl() {
      var code = encode();
      var base = location.href.split("#")[0];
      var url = code ? base + "#f=" + code : base;
      if (url === location.href) return;
      try { history.replaceState(history.state, "", url); }
      catch (e) { location.replace(code ? "#f=" + code : "#"); }
    }

    var badge = null;
    api.onRules(recount);  // a filter or the disaster choice changed: count again
    function apply(fromUrl) {
      var on = active().length > 0;
      api.setRule("filters", on ? keepMarker : null);
      if (badge) badge.textContent = on ? String(active().length) : "";
      map.getContainer().setAttribute("data-filtered", on ? "1" : "");
      if (!fromUrl) writeUrl();
    }

    // The panel: per layer a group, per filter a fieldset (checkboxes, from/to fields).
    var panel = el("section", "cm-filter-panel");
    panel.id = "cm-filter-panel";
    panel.setAttribute("aria-label", T.filter);
    panel.hidden = true;
    var head = el("div", "cm-filter-head");
    head.appendChild(el("h2", null, T.filter));
    var close = el("button", "cm-filter-close", "×");
    close.type = "button";
    close.title = T.close;
    close.setAttribute("aria-label", T.close);
    head.appendChild(close);
    panel.appendChild(head);
    var body = el("div", "cm-filter-body");
    panel.appendChild(body);

    function checkbox(text, onchange) {
      var lab = el("label", "cm-filter-check");
      var box = el("input");
      box.type = "checkbox";
      box.addEventListener("change", onchange);
      lab.appendChild(box);
      lab.appendChild(el("span", null, text));
      return { label: lab, box: box };
    }
    function fieldset(title, cls) {
      var fs = el("fieldset", "cm-filter " + (cls || ""));
      fs.appendChild(el("legend", null, title));
      return fs;
    }

    layers.forEach(function (layer) {
      var group = el("div", "cm-filter-layer");
      group.setAttribute("data-layer", layer.id);
      if (layers.length > 1 || data.layers.length > 1) group.appendChild(el("h3", null, layer.title));
      var offers = null;
      layer.filters.forEach(function (f) {
        var key = keyOf(layer, f);
        var fs, boxes = [];
        if (f.kind === "category") {
          fs = fieldset(f.title, "cm-filter-category");
          (layer.styles || []).forEach(function (st, k) {
            var c = checkbox(st.title || layer.title, function () {
              var cats = {}, all = true;
              boxes.forEach(function (b, j) { if (b.checked) cats[j] = true; else all = false; });
              state[key] = all ? null : cats;
              apply();
            });
            c.box.checked = true;
            c.box.setAttribute("data-category", st.name);
            boxes.push(c.box);
            fs.appendChild(c.label);
          });
          controls[key] = { filter: f, set: function (s) {
            boxes.forEach(function (b, j) { b.checked = !s || !!s[j]; });
          } };
        } else if (f.kind === "flag") {
          if (!offers) {
            offers = fieldset(T.filter_offers, "cm-filter-flags");
            group.appendChild(offers);
          }
          var c = checkbox(f.title, function () { state[key] = c.box.checked ? true : null; apply(); });
          c.box.setAttribute("data-filter", key);
          offers.appendChild(c.label);
          controls[key] = { filter: f, set: function (s) { c.box.checked = !!s; } };
          return;
        } else if (f.kind === "ages" || f.kind === "disasters") {
          fs = fieldset(f.title, "cm-filter-" + f.kind);
          var opts = f.kind === "ages"
            ? f.ages.map(function (a) { return T.filter_age.replace("{n}", a); })
            : f.options.map(function (o) { return o[1]; });
          opts.forEach(function (text, b) {
            var c = checkbox(text, function () {
              var mask = 0;
              boxes.forEach(function (x, j) { if (x.checked) mask |= 1 << j; });
              state[key] = mask || null;
              apply();
            });
            c.box.setAttribute("data-option", f.kind === "ages" ? String(f.ages[b]) : f.options[b][0]);
            boxes.push(c.box);
            fs.appendChild(c.label);
          });
          controls[key] = { filter: f, set: function (s) {
            boxes.forEach(function (x, j) { x.checked = !!(s && (s & (1 << j))); });
          } };
        } else {
          fs = fieldset(f.title, "cm-filter-range");
          var words = f.kind === "time" ? [T.filter_after, T.filter_before] : [T.filter_min, T.filter_max];
          var inputs = words.map(function (word, side) {
            var lab = el("label", "cm-filter-bound");
            var input;
            if (f.kind === "time") {
              input = el("select");
              var any = el("option", null, T.filter_any);
              any.value = "";
              input.appendChild(any);
              f.options.forEach(function (o) {
                var opt = el("option", null, o[1]);
                opt.value = String(o[0]);
                input.appendChild(opt);
              });
            } else {
              input = el("input");
              input.type = "number";
              input.inputMode = "numeric";
              input.step = "any";
              input.min = String(f.range[0]);
              input.max = String(f.range[1]);
              input.placeholder = String(f.range[side]);
            }
            input.setAttribute("aria-label", f.title + " " + word);
            input.setAttribute("data-bound", side ? "max" : "min");
            lab.appendChild(input);
            lab.appendChild(el("span", null, word));
            fs.appendChild(lab);
            return input;
          });
          var timer = null;
          var read = function () {
            var lo = inputs[0].value === "" ? null : parseFloat(inputs[0].value);
            var hi = inputs[1].value === "" ? null : parseFloat(inputs[1].value);
            if (isNaN(lo)) lo = null;
            if (isNaN(hi)) hi = null;
            state[key] = lo === null && hi === null ? null : [lo, hi];
            apply();
          };
          inputs.forEach(function (input) {
            input.addEventListener("change", read);
            input.addEventListener("input", function () {
              clearTimeout(timer);
              timer = setTimeout(read, 250);
            });
          });
          controls[key] = { filter: f, set: function (s) {
            inputs.forEach(function (input, side) { input.value = s && s[side] !== null ? String(s[side]) : ""; });
          } };
        }
        fs.setAttribute("data-filter", key);
        group.appendChild(fs);
      });
      body.appendChild(group);
    });

    var foot = el("div", "cm-filter-foot");
    status = el("p", "cm-filter-status");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    foot.appendChild(status);
    var clear = el("button", "cm-filter-clear", T.filter_clear);
    clear.type = "button";
    clear.addEventListener("click", function () { setAll({}); apply(); });
    foot.appendChild(clear);
    panel.appendChild(foot);
    map.getContainer().appendChild(panel);
    L.DomEvent.disableClickPropagation(panel);
    L.DomEvent.disableScrollPropagation(panel);

    function setAll(next) {
      Object.keys(controls).forEach(function (key) {
        state[key] = next[key] === undefined ? null : next[key];
        controls[key].set(state[key]);
      });
    }

    var toggle = null;
    function open(show) {
      panel.hidden = !show;
      toggle.setAttribute("aria-expanded", show ? "true" : "false");
      if (show) {
        api.sheet.hide();
        close.focus();
      }
    }
    api.controlBox("topleft", "cm-filter-control leaflet-bar", function (div) {
      toggle = el("button", "cm-filter-toggle");
      toggle.type = "button";
      toggle.setAttribute("aria-controls", panel.id);
      toggle.setAttribute("aria-expanded", "false");
      toggle.appendChild(el("span", null, T.filter));
      badge = el("span", "cm-filter-badge");
      badge.setAttribute("aria-hidden", "true");
      toggle.appendChild(badge);
      toggle.addEventListener("click", function () { open(panel.hidden); });
      div.appendChild(toggle);
    }).addTo(map);
    close.addEventListener("click", function () { open(false); toggle.focus(); });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && !panel.hidden) { open(false); toggle.focus(); }
    });
    // a popup opening on a phone takes the bottom of the screen: the panel gives way
    map.on("popupopen", function () { if (map.getContainer().clientWidth <= 480) open(false); });

    function fromUrl() {
      setAll(decode(location.hash));
      apply(true);
    }
    window.addEventListener("hashchange", fromUrl);
    fromUrl();
    window.civicmapFilters = { state: state, apply: apply, encode: encode, open: open };
  });
})();
