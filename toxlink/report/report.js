// The report's script, inlined by render.py: the flagged-domains views (search, filters,
// sorting, tabs) and fitting the charts to the paper when printing. No library, no network.
(function () {
  "use strict";
  // Rows rendered at first, and added per "Show more": 10k <tr> take seconds to lay out.
  var PAGE = 250, MORE = 1000;
  var ACTIONS = ["disavow-domain", "disavow-url", "review", "keep"];
  // While printing every view shows all its rows: paper has no "Show more" button.
  var printing = false, views = [];
  var ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"};

  // Every value from the data goes through esc() before it is put in the page.
  function esc(v) { return v == null ? "" : String(v).replace(/[&<>"']/g, function (c) { return ESC[c]; }); }
  function pct(x) { return x == null ? "–" : Math.round(x * 100) + "%"; }
  function num(x) { return x == null ? "–" : Number(x).toLocaleString("en-US"); }

  function cell(kind, v) {
    switch (kind) {
      case "domain":
        return '<td class="dom">' + esc(v[0]) + (v[1] ? '<div class="muted small">host ' + esc(v[1]) + "</div>" : "") + "</td>";
      case "action":
        var a = esc(v[0]);
        return '<td><span class="badge ' + a + '">' + a + "</span>" +
          (v[1] ? '<span class="badge white">whitelisted</span>' : "") +
          (v[2] ? '<span class="badge white">protected gov/edu</span>' : "") +
          (v[3] ? '<div class="muted small">' + num(v[3]) + " URL" + (v[3] === 1 ? "" : "s") + "</div>" : "") + "</td>";
      case "reasons":
        return '<td class="reasons">' + (v.length ? "<ul>" + v.map(function (x) { return "<li>" + esc(x) + "</li>"; }).join("") + "</ul>"
                                                    : '<span class="muted">–</span>') + "</td>";
      case "risk":
        return '<td class="num"><span class="risk" style="--r:' + (v == null ? 0 : Number(v)) + '">' + pct(v) + "</span></td>";
      case "pct": return '<td class="num">' + pct(v) + "</td>";
      case "int": case "num": return '<td class="num">' + num(v) + "</td>";
      case "tld": return '<td class="txt short">' + (v == null ? "–" : esc(v)) + "</td>";
      default: return '<td class="txt">' + (v == null ? "–" : esc(v)) + "</td>";
    }
  }

  // The value a column sorts by: numbers as numbers (missing last), text lower-cased.
  function sortKey(kind, v) {
    if (kind === "domain") return v[0] == null ? "" : v[0].toLowerCase();
    if (kind === "action") return ACTIONS.indexOf(v[0]);
    if (kind === "reasons") return v.length;
    if (kind === "text") return v == null ? "" : String(v).toLowerCase();
    return v;
  }

  // The TLDs of a view's rows with their counts, most frequent first (the filter's options).
  function tldCounts(rows, i) {
    var n = {};
    rows.forEach(function (x) { n[x.r[i]] = (n[x.r[i]] || 0) + 1; });
    return Object.keys(n).sort(function (a, b) { return n[b] - n[a] || (a < b ? -1 : 1); }).map(function (k) { return [k, n[k]]; });
  }

  function setup(view, data) {
    var cols = data.columns, col = {};
    cols.forEach(function (c, i) { col[c.key] = i; });
    var only = view.getAttribute("data-action");
    var rows = data.rows.map(function (r, i) {
      return {r: r, i: i, text: [r[col.domain][0], r[col.domain][1]].concat(r[col.why]).join(" ").toLowerCase()};
    }).filter(function (x) { return !only || x.r[col.action][0] === only; });
    var table = view.querySelector("table"), tbody = table.tBodies[0];
    var q = view.querySelector("input.q"), act = view.querySelector("select.act"), tld = view.querySelector("select.tld");
    var count = view.querySelector(".count"), more = view.querySelector("button.more");
    var state = {key: null, dir: 1, limit: PAGE};

    table.tHead.innerHTML = "<tr>" + cols.map(function (c) {
      var numeric = ["int", "num", "pct", "risk"].indexOf(c.kind) >= 0;
      // data-kind and data-key give the column its width (style.css).
      return "<th" + (numeric ? ' class="num"' : "") + ' data-key="' + esc(c.key) + '" data-kind="' + esc(c.kind) + '"><button type="button" class="sort">' +
        esc(c.label) + "</button></th>";
    }).join("") + "</tr>";
    tldCounts(rows, col.tld).forEach(function (t) {
      var o = document.createElement("option");
      o.value = t[0];
      o.textContent = t[0] + " (" + t[1] + ")";
      tld.appendChild(o);
    });

    function render() {
      var needle = q.value.trim().toLowerCase(), a = act ? act.value : "", t = tld.value;
      var shown = rows.filter(function (x) {
        return (!needle || x.text.indexOf(needle) >= 0) && (!a || x.r[col.action][0] === a) && (!t || x.r[col.tld] === t);
      });
      if (state.key !== null) {
        var i = col[state.key], kind = cols[i].kind, dir = state.dir;
        shown.sort(function (x, y) {
          var p = sortKey(kind, x.r[i]), s = sortKey(kind, y.r[i]);
          if (p == null || s == null) return (p == null) - (s == null) || x.i - y.i;  // missing last either way
          return (p < s ? -dir : p > s ? dir : 0) || x.i - y.i;
        });
      }
      var limit = printing ? shown.length : state.limit;
      tbody.innerHTML = shown.slice(0, limit).map(function (x) {
        return '<tr data-domain="' + esc(x.r[col.domain][0]) + '">' + cols.map(function (c, j) { return cell(c.key === "tld" ? "tld" : c.kind, x.r[j]); }).join("") + "</tr>";
      }).join("");
      count.textContent = "Showing " + Math.min(shown.length, limit).toLocaleString("en-US") + " of " +
        shown.length.toLocaleString("en-US") + (shown.length === rows.length ? "" : " matching") + " domains";
      more.hidden = shown.length <= limit;
      more.textContent = "Show " + Math.min(MORE, shown.length - state.limit).toLocaleString("en-US") + " more";
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
        var k = th.getAttribute("data-key");
        th.setAttribute("aria-sort", k === state.key ? (state.dir > 0 ? "ascending" : "descending") : "none");
      });
    }

    function refilter() { state.limit = PAGE; render(); }
    var typing = null;
    // Typing re-renders once the keys pause, not on every key.
    q.addEventListener("input", function () { clearTimeout(typing); typing = setTimeout(refilter, 120); });
    tld.addEventListener("change", refilter);
    if (act) act.addEventListener("change", refilter);
    more.addEventListener("click", function () { state.limit += MORE; render(); });
    table.tHead.addEventListener("click", function (ev) {
      var th = ev.target.closest("th");
      if (!th) return;
      var key = th.getAttribute("data-key"), kind = cols[col[key]].kind;
      // First click: numbers largest first, text A to Z; a second click reverses.
      state.dir = key === state.key ? -state.dir : (kind === "domain" || kind === "text" || kind === "action" ? 1 : -1);
      state.key = key;
      render();
    });
    render();
    views.push(render);
  }

  // Before printing, every view is rendered whole (its filters and sort kept); afterwards back
  // to the rows the screen showed. A no-op when nothing changes: both events may fire.
  function printRows(on) {
    if (on === printing) return;
    printing = on;
    views.forEach(function (render) { render(); });
  }

  function tabs() {
    var buttons = document.querySelectorAll(".tabs .tab");
    Array.prototype.forEach.call(buttons, function (b) {
      b.addEventListener("click", function () {
        Array.prototype.forEach.call(buttons, function (o) { o.classList.toggle("active", o === b); });
        Array.prototype.forEach.call(document.querySelectorAll(".domain-view"), function (v) {
          v.classList.toggle("active", v.id === b.getAttribute("data-view"));
        });
      });
    });
  }

  // Printing: a chart drawn for the screen is wider than the paper and would be clipped.
  // Each one is redrawn at its box's width while print media apply, and back afterwards.
  function fitCharts(on) {
    if (!window.Plotly) return;
    Array.prototype.forEach.call(document.querySelectorAll(".js-plotly-plot"), function (gd) {
      var w = gd.parentElement.clientWidth;
      window.Plotly.relayout(gd, on ? {width: Math.max(w, 200), autosize: false} : {width: null, autosize: true});
    });
  }

  function init() {
    var el = document.getElementById("domains-data");
    if (el) {
      var data = JSON.parse(el.textContent);
      Array.prototype.forEach.call(document.querySelectorAll(".domain-view"), function (v) { setup(v, data); });
      tabs();
    }
    var media = window.matchMedia("print");
    var onChange = function (e) { printRows(e.matches); fitCharts(e.matches); };
    if (media.addEventListener) media.addEventListener("change", onChange); else media.addListener(onChange);
    window.addEventListener("beforeprint", function () { printRows(true); fitCharts(true); });
    window.addEventListener("afterprint", function () { printRows(false); fitCharts(false); });
    // A chart fitted for print keeps its width: fit it again if the paper's width changes.
    window.addEventListener("resize", function () { if (media.matches) fitCharts(true); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
