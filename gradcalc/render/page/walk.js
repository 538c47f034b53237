/* gradcalc --html: the walkthrough page's script. It reads two JSON blocks written by
   gradcalc/render/html.py (gradcalc-data: exactly what `--format json --steps` prints;
   gradcalc-page: the graph's structure, layout and precomputed checks) and steps through the
   forward pass node by node and the backward pass edge by edge. It computes nothing of its own
   but number formatting (as gradcalc's numfmt.fmt), and it writes every text from the program
   with textContent, never as markup. No network: the page's Content-Security-Policy forbids it. */
(function () {
  "use strict";

  performance.mark("script-start");
  var $ = function (id) { return document.getElementById(id); };
  var data = JSON.parse($("gradcalc-data").textContent);
  var page = JSON.parse($("gradcalc-page").textContent);
  var FW = data.steps.forward, BW = data.steps.backward;
  var F = FW.length, B = BW.length, N = F + B;
  var nodes = page.nodes, out = data.output;
  var DIGITS = page.digits, PDIGITS = page.picture_digits;
  var MATHML = "http://www.w3.org/1998/Math/MathML";
  var svg = $("gc-svg");
  var cur = 0;                 // steps done: 0 (none) .. N (all)
  var timer = null;
  var selected = -1;

  // --- numbers, as gradcalc prints them (gradcalc/numfmt.py: fmt) ---------------------------
  function sci(digits, exp, sign) {
    var frac = digits.slice(1);
    return sign + digits[0] + (frac ? "." + frac : "") + "e" + (exp < 0 ? "-" : "+") +
      String(Math.abs(exp)).padStart(2, "0");
  }
  function fixed(digits, exp, sign) {
    var whole, frac;
    if (exp >= 0) {
      while (digits.length < exp + 1) { digits += "0"; }
      whole = digits.slice(0, exp + 1); frac = digits.slice(exp + 1);
    } else {
      whole = "0"; frac = "0".repeat(-exp - 1) + digits;
    }
    frac = frac.replace(/0+$/, "");
    return sign + whole + (frac ? "." + frac : "");
  }
  function split(s) {            // "7.31059e-1" -> ["731059", -1]
    var m = s.split("e");
    return [m[0].replace(".", ""), parseInt(m[1], 10)];
  }
  function roundedDigits(a, p) {
    // p significant digits, rounded half to even on an exact tie as Python's format does
    var d = split(a.toExponential(p - 1));
    var long = split(a.toExponential(Math.min(p + 24, 100)))[0];
    if (long[p] === "5" && /^0*$/.test(long.slice(p + 1))) {
      var head = long.slice(0, p), exp = split(a.toExponential(Math.min(p + 24, 100)))[1];
      if (parseInt(head[p - 1], 10) % 2 === 1) {
        var k = p - 1, chars = head.split("");
        while (k >= 0 && chars[k] === "9") { chars[k] = "0"; k -= 1; }
        if (k < 0) { chars.unshift("1"); chars.pop(); exp += 1; } else {
          chars[k] = String(parseInt(chars[k], 10) + 1);
        }
        head = chars.join("");
      }
      d = [head, exp];
    }
    return d;
  }
  var ODD = {Infinity: "inf", "-Infinity": "-inf", NaN: "nan"};   // strict JSON's stand-ins
  function fmt(x, digits) {
    if (x === null || x === undefined) { return "undetermined"; }
    if (typeof x === "string") { return ODD[x] || x; }
    if (Number.isNaN(x)) { return "nan"; }
    if (x === Infinity) { return "inf"; }
    if (x === -Infinity) { return "-inf"; }
    if (x === 0) { return "0"; }
    var limit = digits == null ? 1e16 : Math.pow(10, digits);
    if (Number.isInteger(x) && Math.abs(x) < limit) { return String(x); }
    var sign = x < 0 ? "-" : "", a = Math.abs(x), d;
    if (digits == null) {          // Python's repr: the shortest digits that read back
      d = split(a.toExponential());
      return d[1] >= -4 && d[1] < 16 ? fixed(d[0], d[1], sign) : sci(d[0].replace(/0+$/, "") || "0", d[1], sign);
    }
    d = roundedDigits(a, digits);   // Python's format(x, ".{digits}g")
    if (d[1] >= -4 && d[1] < digits) { return fixed(d[0], d[1], sign); }
    return sci(d[0].replace(/0+$/, "") || "0", d[1], sign);
  }
  function num(x, digits) {        // a number as shown: a span that keeps the exact value
    var span = document.createElement("span");
    span.className = "num";
    span.textContent = fmt(x, digits === undefined ? DIGITS : digits);
    span.setAttribute("data-value", x === null || x === undefined ? "" : String(x));
    return span;
  }

  // --- arrays (a program over arrays): values as gradcalc's walkthrough shows them -------------
  var TENSOR = page.tensor === true;
  var SMALL_TEXT = 6;      // entries written one by one on a line (render/tensor_steps.py: SMALL)
  var SMALL_TABLE = 36;    // entries shown as a matrix in the panels
  function shapeOf(x) { var s = []; while (Array.isArray(x)) { s.push(x.length); x = x[0]; } return s; }
  function shapeText(s) { return s.length ? s.join("×") : "scalar"; }
  function entries(x) { return shapeOf(x).reduce(function (a, b) { return a * b; }, 1); }
  function each(x, f) {            // every entry of a nested array (depth: its number of axes)
    if (Array.isArray(x)) { x.forEach(function (v) { each(v, f); }); } else { f(typeof x === "string" ? Number(x) : x); }
  }
  function nestedText(x, digits) {
    return Array.isArray(x) ? "[" + x.map(function (v) { return nestedText(v, digits); }).join(", ") + "]" : fmt(x, digits);
  }
  function text(x, digits) {       // a value on one line, as tensor_steps.compact writes it
    if (!Array.isArray(x)) { return fmt(x, digits); }
    if (entries(x) > SMALL_TEXT) {
      var lo = Infinity, hi = -Infinity;
      each(x, function (v) { lo = Math.min(lo, v); hi = Math.max(hi, v); });
      var a = fmt(lo, digits), b = fmt(hi, digits);
      return a === b ? "every entry " + a : "min " + a + ", max " + b;
    }
    return nestedText(x, digits);
  }
  function val(x, id) {            // a value in a panel: a number, a small matrix, or a summary
    var e;
    if (!Array.isArray(x)) {
      e = num(x);
    } else {
      var s = shapeOf(x), n = entries(x);
      if (n > 0 && n <= SMALL_TABLE && s.length <= 2) {
        e = el("table", {cls: "mat", "aria-label": shapeText(s) + " array"}, [el("tbody", null,
          (s.length === 1 ? [x] : x).map(function (r) {
            return el("tr", null, r.map(function (v) { return el("td", null, [num(v)]); }));
          }))]);
      } else {
        e = el("span", {cls: "summary", text: shapeText(s) + ": " + text(x, DIGITS)});
      }
      e.setAttribute("data-shape", shapeText(s));
    }
    if (id) { e.id = id; }
    return e;
  }

  // --- small DOM helpers (text only, never markup) --------------------------------------------
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") { e.textContent = attrs[k]; } else if (k === "cls") {
          e.className = attrs[k];
        } else { e.setAttribute(k, attrs[k]); }
      });
    }
    (children || []).forEach(function (c) {
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }
  function clear(e) { while (e.firstChild) { e.removeChild(e.firstChild); } return e; }
  function mrow(children) {
    var r = document.createElementNS(MATHML, "mrow");
    children.forEach(function (c) { r.appendChild(c); });
    return r;
  }
  function mtok(tag, text) {
    var t = document.createElementNS(MATHML, tag);
    t.textContent = text;
    return t;
  }
  function partial(top, bottom) {    // ∂top/∂bottom as a MathML fraction
    var f = document.createElementNS(MATHML, "mfrac");
    f.appendChild(mrow([mtok("mo", "∂"), mtok("mi", top)]));
    f.appendChild(mrow([mtok("mo", "∂"), mtok("mi", bottom)]));
    return f;
  }
  function math(children, label) {
    var m = document.createElementNS(MATHML, "math");
    m.setAttribute("display", "block");
    if (label) { m.setAttribute("aria-label", label); }
    m.appendChild(mrow(children));
    return m;
  }
  function nodeButton(n) {
    var b = el("button", {type: "button", cls: "link", text: nodes[n].label});
    b.addEventListener("click", function () { showNode(n, true); });
    return b;
  }

  // --- the graph's structure -------------------------------------------------------------------
  var byLabel = new Map();
  nodes.forEach(function (n, k) { byLabel.set(n.label, k); });
  var outIndex = nodes.findIndex(function (n) { return n.kind === "output"; });
  // each backward step: the previous step to the same target, whether it is the last one
  var prevTo = new Array(B), lastTo = new Array(B), lastStep = new Map(), incoming = new Map();
  var stepsOfEdge = new Map();
  page.edges.forEach(function (e, b) {
    prevTo[b] = lastStep.has(e[1]) ? lastStep.get(e[1]) : -1;
    lastStep.set(e[1], b);
    if (!incoming.has(e[1])) { incoming.set(e[1], []); }
    incoming.get(e[1]).push(b);
    var key = e[0] + "-" + e[1];
    if (!stepsOfEdge.has(key)) { stepsOfEdge.set(key, []); }
    stepsOfEdge.get(key).push(b);
  });
  for (var b0 = 0; b0 < B; b0++) { lastTo[b0] = lastStep.get(page.edges[b0][1]) === b0; }
  var consumers = nodes.map(function () { return []; });
  nodes.forEach(function (n, k) {
    n.args.forEach(function (a) { if (consumers[a].indexOf(k) < 0) { consumers[a].push(k); } });
  });
  // nodes with a gradient that no edge reaches (every path from them is cut by a zero local
  // gradient): their 0 shows when the backward pass ends
  var unreached = new Set();
  nodes.forEach(function (n, k) {
    if (n.grad && k !== outIndex && !incoming.has(k)) { unreached.add(k); }
  });
  function gradientOf(k) {          // ∂out/∂node k, as the walkthrough found it
    if (k === outIndex) { return 1; }
    if (incoming.has(k)) { var s = incoming.get(k); return BW[s[s.length - 1]].total; }
    return nodes[k].grad ? 0 : null;
  }
  function edgeKey(b) { return page.edges[b][0] + "-" + page.edges[b][1]; }
  function seedAt() { return B ? F + 1 : F; }

  // --- the state after `cur` steps -------------------------------------------------------------
  var gstep = nodes.map(function () { return -1; });   // node -> last backward step into it
  var doneEdges = new Map();                            // edge key -> its steps done
  var touched = new Set(), touchedEdges = new Set();
  function apply(k, on) {           // step k (1..N) done (on) or undone: the state only
    if (k <= F) {
      touched.add(k - 1);
    } else {
      var b = k - F - 1, key = edgeKey(b);
      doneEdges.set(key, (doneEdges.get(key) || 0) + (on ? 1 : -1));
      gstep[page.edges[b][1]] = on ? b : prevTo[b];
      touched.add(page.edges[b][1]);
      touchedEdges.add(key);
    }
    if (k === seedAt() && outIndex >= 0) { touched.add(outIndex); }
    if (k === N) { unreached.forEach(function (n) { touched.add(n); }); }
  }
  function current() {              // what the current step highlights
    if (cur === 0) { return {node: -1, edge: null, from: -1, to: -1}; }
    if (cur <= F) { return {node: cur - 1, edge: null, from: -1, to: -1}; }
    var e = page.edges[cur - F - 1];
    return {node: -1, edge: edgeKey(cur - F - 1), from: e[0], to: e[1]};
  }
  var now = current();
  function nodeClass(k) {
    var n = nodes[k], c = "node gc-node gc-" + (n.kind === "op" ? "op" : n.kind);
    if (k < cur) { c += " gc-fwd"; }
    if ((k === outIndex && cur >= seedAt()) || (cur === N && unreached.has(k))) {
      c += " gc-bwd";
    } else if (gstep[k] >= 0) { c += lastTo[gstep[k]] ? " gc-bwd" : " gc-gpart"; }
    if (k === now.node) { c += " gc-cur"; }
    if (k === now.from) { c += " gc-from"; }
    if (k === now.to) { c += " gc-to"; }
    if (k === selected) { c += " gc-sel"; }
    return c;
  }
  function paintNode(k) {
    var c = nodeClass(k);
    nodeElements(k).forEach(function (g) {
      g.setAttribute("class", c);
      if (gstep[k] >= 0 && !lastTo[gstep[k]]) {
        var t = g.querySelector(".gc-gp");
        if (t) { t.textContent = " = " + text(BW[gstep[k]].total, PDIGITS) + " + …"; }
      }
    });
  }
  function paintEdge(key) {
    var c = "edge gc-edge" + ((doneEdges.get(key) || 0) > 0 ? " gc-done" : "") +
      (key === now.edge ? " gc-cur" : "");
    edgeElements(key).forEach(function (g) { g.setAttribute("class", c); });
  }
  function go(k) {
    k = Math.max(0, Math.min(N, k));
    var before = now;
    while (cur < k) { cur += 1; apply(cur, true); }
    while (cur > k) { apply(cur, false); cur -= 1; }
    now = current();
    [before, now].forEach(function (h) {
      [h.node, h.from, h.to].forEach(function (n) { if (n >= 0) { touched.add(n); } });
      if (h.edge) { touchedEdges.add(h.edge); }
    });
    touched.forEach(paintNode);
    touchedEdges.forEach(paintEdge);
    touched.clear();
    touchedEdges.clear();
    if (own) { scheduleRender(); }
    followCurrent();
    describe();
    if (cur === N && timer) { pause(); }
  }

  // --- the picture: Graphviz's (static) or gradcalc's own (drawn here, what is on screen) -----
  var own = page.layout.engine === "own";
  var L = page.layout;
  var nodeEls = nodes.map(function () { return []; });  // Graphviz: node -> its groups
  var edgeEls = new Map();                               // Graphviz: edge key -> its groups
  var boxesOf = nodes.map(function () { return []; });  // own: node -> its boxes
  var edgesOf = new Map();                               // own: edge key -> its drawn edges
  var shownBoxes = new Map(), shownEdges = new Map();    // own: what is drawn now
  if (svg && !own) {
    svg.querySelectorAll("[data-n]").forEach(function (g) {
      nodeEls[parseInt(g.getAttribute("data-n"), 10)].push(g);
    });
    svg.querySelectorAll("[data-e]").forEach(function (g) {
      var key = g.getAttribute("data-e");
      if (!edgeEls.has(key)) { edgeEls.set(key, []); }
      edgeEls.get(key).push(g);
    });
  }
  if (own) {
    L.boxes.forEach(function (b, i) { boxesOf[b[0]].push(i); });
    L.edges.forEach(function (e, i) {
      if (!edgesOf.has(e[2])) { edgesOf.set(e[2], []); }
      edgesOf.get(e[2]).push(i);
    });
  }
  function nodeElements(k) {
    if (!own) { return nodeEls[k]; }
    var list = [];
    boxesOf[k].forEach(function (i) { if (shownBoxes.has(i)) { list.push(shownBoxes.get(i)); } });
    return list;
  }
  function edgeElements(key) {
    if (!own) { return edgeEls.get(key) || []; }
    var list = [];
    (edgesOf.get(key) || []).forEach(function (i) { if (shownEdges.has(i)) { list.push(shownEdges.get(i)); } });
    return list;
  }
  var SVGNS = "http://www.w3.org/2000/svg";
  function s_(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function boxLines(k) {            // what a node shows: value line, gradient line
    var n = nodes[k], s = FW[k];
    var def = (n.kind === "input" ? "" : " = " + s.definition) + (TENSOR ? " (" + shapeText(s.shape) + ")" : "");
    var first = [n.label, def, " = " + text(s.value, PDIGITS)];
    var g = gradientOf(k);
    return [first, n.grad ? ["∂" + out + "/∂" + n.label, " = " + text(g, PDIGITS)] : null];
  }
  var DETAIL = 0.3;                 // below this scale the own layout draws boxes without text
  function drawBox(i, detail) {
    var b = L.boxes[i], k = b[0];
    var g = s_("g", {"data-n": String(k), "data-box": String(i), transform: "translate(" + b[1] + "," + b[2] + ")"});
    g.appendChild(s_("title", {}, nodes[k].label + " = " + FW[k].definition));
    g.appendChild(s_("rect", {width: b[3], height: b[4], rx: 6}));
    if (detail) {
      var lines = boxLines(k);
      var t1 = s_("text", {"class": "gc-vline", x: 8, y: 18});
      t1.appendChild(s_("tspan", {"class": "gc-lbl"}, lines[0][0]));
      if (lines[0][1]) { t1.appendChild(document.createTextNode(lines[0][1])); }
      t1.appendChild(s_("tspan", {"class": "gc-vv"}, lines[0][2]));
      t1.appendChild(s_("tspan", {"class": "gc-vq"}, " = ?"));
      g.appendChild(t1);
      if (lines[1]) {
        var t2 = s_("text", {"class": "gc-gline", x: 8, y: 36}, lines[1][0]);
        t2.appendChild(s_("tspan", {"class": "gc-gv"}, lines[1][1]));
        t2.appendChild(s_("tspan", {"class": "gc-gq"}, " = ?"));
        t2.appendChild(s_("tspan", {"class": "gc-gp"}, ""));
        g.appendChild(t2);
      }
    }
    g.setAttribute("data-detail", detail ? "1" : "0");
    return g;
  }
  function ends(i) {                // an own edge's end points
    var e = L.edges[i], a = L.boxes[e[0]], b = L.boxes[e[1]];
    if (L.lr) { return [a[1] + a[3], a[2] + a[4] / 2, b[1], b[2] + b[4] / 2]; }
    return [a[1] + a[3] / 2, a[2] + a[4], b[1] + b[3] / 2, b[2]];
  }
  function drawEdge(i, detail) {
    var p = ends(i), e = L.edges[i], d;
    if (L.lr) {
      var c = Math.max((p[2] - p[0]) / 2, 20);
      d = "M" + p[0] + "," + p[1] + "C" + (p[0] + c) + "," + p[1] + " " + (p[2] - c) + "," + p[3] + " " + p[2] + "," + p[3];
    } else {
      var c2 = Math.max((p[3] - p[1]) / 2, 20);
      d = "M" + p[0] + "," + p[1] + "C" + p[0] + "," + (p[1] + c2) + " " + p[2] + "," + (p[3] - c2) + " " + p[2] + "," + p[3];
    }
    var g = s_("g", {"data-e": e[2]});
    var ab = e[2].split("-");
    g.appendChild(s_("title", {}, nodes[+ab[0]].label + " → " + nodes[+ab[1]].label));
    g.appendChild(s_("path", {d: d, "marker-end": "url(#gc-arrow)"}));
    var label = L.labels[e[2]];   // [text, x, y, anchor]: placed by gradcalc clear of the others
    if (detail && label) {
      g.appendChild(s_("text", {"class": "gc-local", x: label[1], y: label[2], "text-anchor": label[3]}, label[0]));
    }
    g.setAttribute("data-detail", detail ? "1" : "0");
    return g;
  }
  var renderPending = false;
  function scheduleRender() {
    if (!renderPending) { renderPending = true; requestAnimationFrame(render); }
  }
  function render() {               // own layout: draw what is on screen, drop the rest
    renderPending = false;
    var v = visible(), s = scale(), detail = s >= DETAIL;
    var mx = v.w * 0.25, my = v.h * 0.25;
    var x0 = v.x - mx, y0 = v.y - my, x1 = v.x + v.w + mx, y1 = v.y + v.h + my;
    var gb = svg.querySelector(".gc-nodes"), ge = svg.querySelector(".gc-edges");
    var want = new Set();
    L.boxes.forEach(function (b, i) {
      if (b[1] < x1 && b[1] + b[3] > x0 && b[2] < y1 && b[2] + b[4] > y0) { want.add(i); }
    });
    shownBoxes.forEach(function (g, i) {
      if (!want.has(i) || g.getAttribute("data-detail") !== (detail ? "1" : "0")) {
        if (document.activeElement === g && want.has(i)) { return; }
        g.remove(); shownBoxes.delete(i);
      }
    });
    want.forEach(function (i) {
      if (!shownBoxes.has(i)) { var g = drawBox(i, detail); shownBoxes.set(i, g); gb.appendChild(g); }
    });
    var wantE = new Set();
    L.edges.forEach(function (e, i) {
      var p = ends(i);
      if (Math.min(p[0], p[2]) < x1 && Math.max(p[0], p[2]) > x0 && Math.min(p[1], p[3]) < y1 &&
          Math.max(p[1], p[3]) > y0) { wantE.add(i); }
    });
    shownEdges.forEach(function (g, i) {
      if (!wantE.has(i) || g.getAttribute("data-detail") !== (detail ? "1" : "0")) { g.remove(); shownEdges.delete(i); }
    });
    wantE.forEach(function (i) {
      if (!shownEdges.has(i)) { var g = drawEdge(i, detail); shownEdges.set(i, g); ge.appendChild(g); }
    });
    shownBoxes.forEach(function (g, i) { paintBox(g, L.boxes[i][0]); });
    shownEdges.forEach(function (g, i) { paintEdge1(g, L.edges[i][2]); });
    focusable();
  }
  function paintBox(g, k) {
    g.setAttribute("class", nodeClass(k));
    if (gstep[k] >= 0 && !lastTo[gstep[k]]) {
      var t = g.querySelector(".gc-gp");
      if (t) { t.textContent = " = " + text(BW[gstep[k]].total, PDIGITS) + " + …"; }
    }
  }
  function paintEdge1(g, key) {
    g.setAttribute("class", "edge gc-edge" + ((doneEdges.get(key) || 0) > 0 ? " gc-done" : "") +
      (key === now.edge ? " gc-cur" : ""));
  }
  function focusable() {            // small graphs: every node is a tab stop
    if (nodes.length > 300) { return; }
    nodes.forEach(function (n, k) {
      nodeElements(k).forEach(function (g) {
        if (g.hasAttribute("tabindex")) { return; }
        g.setAttribute("tabindex", "0");
        g.setAttribute("role", "button");
        g.setAttribute("aria-label", "node " + n.label + (n.kind === "input" ? ", an input" : " = " + FW[k].definition));
      });
    });
  }

  // --- the current step, in words --------------------------------------------------------------
  function row(name, children, id) {
    var dd = el("dd", id ? {id: id} : null, children);
    return [el("dt", {text: name}), dd];
  }
  function dl(rows) {
    var d = el("dl", {cls: "kv"});
    rows.forEach(function (r) { d.appendChild(r[0]); d.appendChild(r[1]); });
    return d;
  }
  function pathsText(s, last) {
    if (s.paths <= 1) { return ""; }
    return last ? "(sum of " + s.paths + " paths)" : "(+ more)";
  }
  function describe() {
    var count = $("step-count"), body = clear($("step-body"));
    if (cur === 0) {
      count.textContent = "Start: " + N + " steps, " + F + " forward (one per node) and " + B +
        " backward (one per edge).";
      body.appendChild(el("p", {text: "Press → or “next” to run the forward pass."}));
      return;
    }
    if (cur <= F) {
      var s = FW[cur - 1], n = nodes[cur - 1];
      count.textContent = "Forward pass: step " + s.step + " of " + F;
      if (TENSOR) {
        body.appendChild(el("p", {cls: "big", id: "cur-line"}, [
          el("strong", {id: "cur-node", text: s.node}), " = ",
          el("span", {id: "cur-def", text: s.definition}), " ",
          el("span", {id: "cur-shape", cls: "shape", text: "(" + shapeText(s.shape) + ")"})]));
        body.appendChild(val(s.value, "cur-value"));
        return;
      }
      var where = n.args.map(function (a) { return nodes[a].label + " = " + fmt(FW[a].value, DIGITS); });
      var dup = where.filter(function (w, i) { return where.indexOf(w) === i; });
      body.appendChild(el("p", {cls: "big", id: "cur-line"}, [
        el("strong", {id: "cur-node", text: s.node}), " = ",
        el("span", {id: "cur-def", text: s.definition}), " = ",
        (function () { var v = num(s.value); v.id = "cur-value"; return v; })()]));
      if (dup.length) {
        body.appendChild(el("p", {cls: "where", text: "where " + dup.join(", ")}));
      }
      var tangent = (data.forward_mode || [])[cur - 1];
      if (tangent && tangent.node === s.node) {
        body.appendChild(el("p", {cls: "where"}, ["tangent along the direction (forward mode): ",
          num(tangent.dot)]));
      }
      return;
    }
    var b = cur - F - 1, t = BW[b];
    count.textContent = "Backward pass: step " + t.step + " of " + B + " (edge " + t.edge + ")";
    var last = lastTo[b];
    if (TENSOR) { describeArrays(body, t, last); return; }
    var total = num(t.total);
    total.id = "cur-total";
    var up = num(t.upstream), loc = num(t.local), down = num(t.downstream);
    up.id = "cur-up"; loc.id = "cur-local"; down.id = "cur-down";
    body.appendChild(el("p", {cls: "big"}, [el("span", {id: "cur-edge", text: t.edge})]));
    body.appendChild(dl([
      row("upstream ∂" + out + "/∂" + t.from, [up]),
      row("local gradient", [el("span", {id: "cur-formula", text: t.local_formula}), " = ", loc]),
      row("downstream = upstream × local", [fmt(t.upstream, DIGITS) + " × " +
        fmt(t.local, DIGITS) + " = ", down]),
      row("∂" + out + "/∂" + t.to + (last ? "" : " so far"),
        [total, " ", el("span", {id: "cur-paths", text: pathsText(t, last)})]),
    ]));
    if (t.paths > 1) {
      body.appendChild(el("p", {cls: "where", text: "Paths meet at " + t.to + ": its " +
        t.paths + " incoming edges add up" + (last ? "; this was the last." : ".")}));
    }
  }

  function describeArrays(body, t, last) {   // a backward step of an array program: its VJP
    var dims = t.dims + " " + (t.shapes_match ? "✓" : "✗ " + t.to + " is " + shapeText(t.target_shape));
    var rows = [
      row("upstream ∂" + out + "/∂" + t.from, [val(gradientOf(byLabel.get(t.from)), "cur-up")]),
      row("VJP", [el("span", {id: "cur-formula", text: t.formula})]),
      row("shapes", [el("span", {id: "cur-dims", cls: t.shapes_match ? "verdict-agree" : "verdict-disagree", text: dims})]),
      row("gradient sent", [val(t.downstream, "cur-down")]),
      row("∂" + out + "/∂" + t.to + (last ? "" : " so far"),
        [val(t.total, "cur-total"), " ", el("span", {id: "cur-paths", text: pathsText(t, last)})]),
    ];
    if (t.broadcast) { rows.splice(3, 0, row("broadcasting", [el("span", {id: "cur-broadcast", text: t.broadcast})])); }
    body.appendChild(el("p", {cls: "big"}, [el("span", {id: "cur-edge", text: t.edge})]));
    body.appendChild(dl(rows));
    if (t.paths > 1) {
      body.appendChild(el("p", {cls: "where", text: "Paths meet at " + t.to + ": the gradients its " +
        t.paths + " incoming edges send add up" + (last ? "; this was the last." : ".")}));
    }
  }

  // --- one node, clicked -----------------------------------------------------------------------
  var STATUS = {agree: "✓ agrees", disagree: "✗ disagrees", kink: "~ kink (not differentiable here)",
    "ill-conditioned": "≈ ill-conditioned", undetermined: "! undetermined", skipped: "? skipped"};
  function showNode(k, focus) {
    var before = selected;
    selected = k;
    if (before >= 0) { paintNode(before); }
    paintNode(k);
    var n = nodes[k], s = FW[k], body = clear($("node-body"));
    $("node-name").textContent = n.label;
    var kind = n.kind === "input" ? "an input" : n.kind === "output" ? "the output" : "an intermediate node";
    var rows = [row("kind", [kind + " (forward step " + s.step + ")"])];
    if (n.kind !== "input") { rows.push(row("definition", [n.label + " = " + s.definition], "node-def")); }
    if (TENSOR) { rows.push(row("shape", [shapeText(s.shape)], "node-shape")); }
    rows.push(row("value", [val(s.value)], "node-value"));
    var g = gradientOf(k);
    rows.push(row("∂" + out + "/∂" + n.label, [g === null ? "— (it does not depend on the inputs)" : val(g)], "node-grad"));
    if (n.args.length || n.consts.length) {
      var args = [];
      n.args.forEach(function (a, i) { if (i) { args.push(", "); } args.push(nodeButton(a)); });
      n.consts.forEach(function (c) { args.push((args.length ? ", " : "") + c); });
      rows.push(row("reads", args));
    }
    if (consumers[k].length) {
      var used = [];
      consumers[k].forEach(function (c, i) { if (i) { used.push(", "); } used.push(nodeButton(c)); });
      rows.push(row("used by", used));
    }
    body.appendChild(dl(rows));
    body.appendChild(chainRule(k));
    if (n.kind === "input") { body.appendChild(checkOf(n.label)); }
    if (focus) { $("node").scrollIntoView({block: "nearest"}); }
  }
  function chainRule(k) {
    var n = nodes[k], box = el("div", {id: "node-chain"});
    box.appendChild(el("h3", {text: "Chain rule"}));
    if (k === outIndex) {
      box.appendChild(math([partial(out, out), mtok("mo", "="), mtok("mn", "1")], "d" + out + "/d" + out + " = 1"));
      box.appendChild(el("p", {text: "The output: the backward pass starts here with ∂" + out + "/∂" + out + " = 1."}));
      return box;
    }
    var steps = incoming.get(k) || [];
    if (!steps.length) {
      box.appendChild(el("p", {text: n.grad ? "No gradient flows back to " + n.label +
        ": every path from it to the output is cut by a zero local gradient, so ∂" + out + "/∂" + n.label + " = 0."
        : n.label + " does not depend on the inputs: it has no gradient."}));
      return box;
    }
    if (TENSOR) { return chainArrays(box, n, steps); }
    var terms = [partial(out, n.label), mtok("mo", "=")];
    steps.forEach(function (b, i) {
      var from = BW[b].from;
      if (i) { terms.push(mtok("mo", "+")); }
      terms.push(partial(out, from), mtok("mo", "·"), partial(from, n.label));
    });
    box.appendChild(math(terms, "the chain rule over the consumers of " + n.label));
    var list = el("ol", {id: "node-expansion"});
    steps.forEach(function (b) {
      var t = BW[b];
      list.appendChild(expansionRow(b, [": ∂" + out + "/∂" + t.from + " × ",
        el("span", {cls: "x-formula", text: t.local_formula}), " = ",
        el("span", {cls: "x-up", text: fmt(t.upstream, DIGITS)}), " × ",
        el("span", {cls: "x-local", text: fmt(t.local, DIGITS)}), " = ",
        el("span", {cls: "x-down", text: fmt(t.downstream, DIGITS)})]));
    });
    box.appendChild(list);
    var last = BW[steps[steps.length - 1]];
    var sum = steps.map(function (b) { return fmt(BW[b].downstream, DIGITS); }).join(" + ");
    box.appendChild(el("p", {id: "node-sum"}, ["∂" + out + "/∂" + n.label + " = " +
      (steps.length > 1 ? sum + " = " : ""), num(last.total),
      steps.length > 1 ? " (sum of " + steps.length + " paths)" : ""]));
    return box;
  }
  function expansionRow(b, rest) {  // a consumer's term: a button to its backward step, then what it sends
    var t = BW[b];
    var go1 = el("button", {type: "button", cls: "link", text: "step " + t.step});
    go1.addEventListener("click", function () { go(F + b + 1); });
    return el("li", {"data-step": String(t.step)}, [go1, ": via ", el("span", {cls: "x-via", text: t.from})].concat(rest));
  }
  function chainArrays(box, n, steps) {  // an array node: the sum of what its consumers send
    box.appendChild(el("p", {text: "∂" + out + "/∂" + n.label + " is the sum of the gradients its consumers send back, each by its VJP:"}));
    var list = el("ol", {id: "node-expansion"});
    steps.forEach(function (b) {
      var t = BW[b];
      list.appendChild(expansionRow(b, [": ", el("span", {cls: "x-formula", text: t.formula}),
        " (" + t.dims + ") = ", val(t.downstream)]));
    });
    box.appendChild(list);
    box.appendChild(el("p", {id: "node-sum"}, ["∂" + out + "/∂" + n.label + " = " +
      (steps.length > 1 ? "the sum of " + steps.length + " paths = " : ""), val(BW[steps[steps.length - 1]].total)]));
    return box;
  }
  function checkOf(name) {
    var box = el("div", {id: "node-check"});
    box.appendChild(el("h3", {text: "Cross-check"}));
    var c = data.check, p = c && c.partials ? c.partials[name] : null;
    if (TENSOR) {
      var ci = c && c.inputs ? c.inputs[name] : null;
      box.appendChild(el("p", {cls: ci ? "verdict-" + ci.status : ""}, !c ? ["not cross-checked (--no-check)"] : !ci ?
        ["∂" + out + "/∂" + name + " was not checked."] : [el("strong", {text: STATUS[ci.status] || ci.status}),
          " — " + (c.method === "sympy" ? "SymPy, entry by entry" : "central differences") + ": " + ci.entries +
          " entries, largest relative error " + fmt(ci.rel_error, 2)]));
      return box;
    }
    if (c.method === "none") {
      box.appendChild(el("p", {text: "not cross-checked (--no-check)"}));
    } else if (!p) {
      box.appendChild(el("p", {text: "∂" + out + "/∂" + name + " was not asked for (--wrt), so not checked."}));
    } else {
      var who = c.method === "sympy" ? "SymPy (sympy.diff)" : "central differences";
      box.appendChild(el("p", {cls: "verdict-" + p.status}, [el("strong", {text: STATUS[p.status] || p.status}),
        " — " + who + (p.symbolic ? ": ∂" + out + "/∂" + name + " = " + p.symbolic : "") +
        (p.value !== null && p.value !== undefined ? " = " : ""),
        p.value !== null && p.value !== undefined ? num(p.value) : "",
        p.note ? " (" + p.note + ")" : ""]));
    }
    return box;
  }

  // --- results: gradient table, check, warnings, answers ------------------------------------
  var MARKS = {agree: "✓", disagree: "✗", kink: "~", "ill-conditioned": "≈", undetermined: "!", skipped: "?"};
  function summaryWords(c) {
    var counts = Object.assign({}, c.counts || {});
    if (c.value_status && c.value_status !== "agree" && c.value_status !== "skipped") {
      counts["value " + c.value_status] = 1;
    }
    var keys = Object.keys(counts);
    var worst = ["disagree", "undetermined", "skipped", "kink", "ill-conditioned"].find(function (s) {
      return keys.some(function (k) { return k.slice(-s.length) === s; });
    }) || "agree";
    if (c.status === "disagree") { worst = "disagree"; }
    if (worst === "agree") { return [MARKS.agree, "agrees", worst]; }
    if (keys.length === 1 && keys[0] === "skipped") { return [MARKS[worst], "could not check", worst]; }
    return [MARKS[worst], keys.map(function (k) { return counts[k] + " " + k; }).join(", "), worst];
  }
  function verdictLine() {
    var c = data.check, p = $("verdict");
    if (TENSOR) {               // the table's own line (render/arrays.py: verdict)
      p.className = c ? "verdict-" + c.status : "";
      p.textContent = page.verdict;
      return;
    }
    if (c.method === "none") { p.textContent = "not cross-checked (--no-check)"; return; }
    var s = summaryWords(c), who = c.method === "sympy" ? "SymPy" : "central differences";
    var words = s[1];
    if (words === "agrees" && who !== "SymPy") { words = "agree"; }
    if (c.status === "disagree") {
      words = (who === "SymPy" ? "DISAGREES" : "DISAGREE") +
        (words !== "agrees" && words !== "could not check" ? " (" + words + ")" : "");
    } else if (["agrees", "agree", "could not check"].indexOf(words) < 0) { words = "check: " + words; }
    var how = c.method === "sympy" ? "sympy.diff of the expression built from the graph" : "fallback: " + c.reason;
    if (c.method === "sympy" && c.reason) { how += "; " + c.reason; }
    p.className = "verdict-" + s[2];
    p.textContent = s[0] + " " + who + " " + words + "  (" + how + "; " + c.seconds.toFixed(2) + " s)";
  }
  function gradientTable() {
    if (TENSOR) { gradientArrays(); return; }
    var c = data.check, table = el("table", {id: "gradient-table"});
    var sym = c.method !== "none";
    var head = ["variable", "value", "∂" + out + "/∂variable"].concat(sym ? ["checker's ∂" + out + "/∂variable", "check"] : []);
    table.appendChild(el("thead", null, [el("tr", null, head.map(function (h) { return el("th", {scope: "col", text: h}); }))]));
    var tbody = el("tbody");
    Object.keys(data.gradient).forEach(function (name) {
      var k = byLabel.has(name) ? byLabel.get(name) : -1;
      var value = name in data.point ? data.point[name] : k >= 0 ? FW[k].value : null;
      var method = data.methods && data.methods[name] !== "reverse mode" &&
        data.gradient[name] !== null ? " (" + data.methods[name] + ")" : "";
      var cells = [el("th", {scope: "row"}, [k >= 0 ? nodeButton(k) : name]), el("td", null, [num(value)]),
        el("td", null, [num(data.gradient[name]), method])];
      if (sym) {
        var p = c.partials[name];
        cells.push(el("td", {text: p ? (p.symbolic || (p.value !== null ? fmt(p.value, DIGITS) : "")) : ""}));
        cells.push(el("td", {cls: p ? "verdict-" + p.status : "", text: p ? STATUS[p.status] || p.status : "not checked"}));
      }
      tbody.appendChild(el("tr", {"data-name": name}, cells));
    });
    table.appendChild(tbody);
    clear($("gradient")).appendChild(table);
  }
  function gradientArrays() {
    var c = data.check, table = el("table", {id: "gradient-table"});
    var head = ["variable", "shape", "value", "∂" + out + "/∂variable", "check"];
    table.appendChild(el("thead", null, [el("tr", null, head.map(function (h) { return el("th", {scope: "col", text: h}); }))]));
    var tbody = el("tbody");
    Object.keys(data.gradient).forEach(function (name) {
      var k = byLabel.has(name) ? byLabel.get(name) : -1;
      var ci = c && c.inputs ? c.inputs[name] : null;
      tbody.appendChild(el("tr", {"data-name": name}, [el("th", {scope: "row"}, [k >= 0 ? nodeButton(k) : name]),
        el("td", {text: shapeText(data.shapes[name] || [])}), el("td", null, [val(data.point[name])]),
        el("td", null, [val(data.gradient[name])]),
        el("td", {cls: ci ? "verdict-" + ci.status : "", text: ci ? STATUS[ci.status] || ci.status : "not checked"})]));
    });
    table.appendChild(tbody);
    clear($("gradient")).appendChild(table);
  }
  function results() {
    $("value").appendChild(document.createTextNode(out + " = "));
    $("value").appendChild(val(data.value));
    gradientTable();
    verdictLine();
    var warnings = $("warnings");
    (data.warnings || []).concat(data.steps.notes || []).forEach(function (w) {
      warnings.appendChild(el("li", {cls: "warn", text: "⚠ warning: " + w}));
    });
    if (data.expect) {
      var box = $("expect");
      box.appendChild(el("h3", {text: "Your answers (--expect)"}));
      var list = el("ul", {id: "expect-list"});
      data.expect.forEach(function (v) {
        var mark = v.ok === true ? "✓ right" : v.ok === false ? "✗ WRONG" : "? undecided";
        var text = mark + ": " + v.name + " = " + v.answer;
        if (v.ok !== true) { text += " (correct: " + v.correct + ")"; }
        if (v.counterexample) { text += "; " + v.counterexample; }
        list.appendChild(el("li", {cls: v.ok === true ? "verdict-agree" : v.ok === false ? "verdict-disagree" : "verdict-skipped", text: text}));
      });
      box.appendChild(list);
    }
    var extras = $("extras");
    [["exact", "Exact (--exact)"], ["precision", "High precision (--precision)"]].forEach(function (x) {
      var e = data[x[0]];
      if (!e) { return; }
      extras.appendChild(el("h3", {text: x[1]}));
      extras.appendChild(el("p", {text: out + " = " + e.value}));
      extras.appendChild(el("ul", null, Object.keys(e.gradient).map(function (k) {
        return el("li", {text: "∂" + out + "/∂" + k + " = " + e.gradient[k]});
      })));
    });
    if (data.directional !== undefined) {
      var dc = data.directional_check || {};
      extras.appendChild(el("h3", {text: "Directional derivative (--direction, forward mode)"}));
      extras.appendChild(el("p", null, ["along (" + Object.keys(data.direction).map(function (k) {
        return k + " = " + fmt(data.direction[k], DIGITS); }).join(", ") + "): ", num(data.directional),
        " " + (MARKS[dc.status] || "") + " ∇" + out + "·v = " + fmt(dc.value, DIGITS)]));
    }
    if (page.hessian) { hessian(page.hessian); }
    $("version").textContent = page.version;
    var note = page.layout.engine === "graphviz" ? "layout: Graphviz" :
      "layout: gradcalc's own (" + (page.layout.note || "Graphviz not used") + ")";
    $("layout-note").textContent = note;
  }

  // --- second derivatives (--hessian): the table, eigenvalues, the test, the check -------------
  function hessian(h) {
    var box = $("hessian"), names = Object.keys(h.hessian), hc = h.higher_check || {};
    var checked = hc.partials || {};
    box.appendChild(el("h3", {text: "Second derivatives (--hessian)"}));
    var table = el("table", {id: "hessian-table"}, [el("caption", {text: "Hessian: the row's variable, then the column's"}),
      el("thead", null, [el("tr", null, [el("th", {scope: "col", text: "∂²" + out + "/∂·∂·"})].concat(
        names.map(function (c) { return el("th", {scope: "col", text: c}); })))])]);
    var tbody = el("tbody");
    names.forEach(function (r) {
      tbody.appendChild(el("tr", {"data-name": r}, [el("th", {scope: "row", text: r})].concat(names.map(function (c) {
        var p = checked[r + "," + c], v = num(h.hessian[r][c]);
        v.setAttribute("data-entry", r + "," + c);
        return el("td", {cls: p ? "verdict-" + p.status : "", title: p && p.symbolic ? "SymPy: " + p.symbolic : ""},
          [v, p ? " " + (MARKS[p.status] || "") : ""]);
      }))));
    });
    table.appendChild(tbody);
    box.appendChild(table);
    if (h.eigenvalues) {
      box.appendChild(el("p", {id: "hessian-eigen"}, ["eigenvalues " + h.eigenvalues.map(function (e) { return fmt(e, DIGITS); }).join(", ") + " ",
        el("strong", {text: h.definiteness || ""})]));
    }
    if (h.words.verdict) { box.appendChild(el("p", {id: "hessian-test", text: h.words.verdict})); }
    h.words.notes.forEach(function (n) { box.appendChild(el("p", {cls: "warn", text: n})); });
    if (hc.method && hc.method !== "none") {
      var s = summaryWords(hc);
      box.appendChild(el("p", {id: "hessian-verdict", cls: "verdict-" + s[2], text: s[0] + " " +
        (hc.method === "sympy" ? "SymPy (sympy.diff twice) " : hc.method + " ") + s[1] +
        " (" + (hc.seconds || 0).toFixed(2) + " s)"}));
    } else {
      box.appendChild(el("p", {id: "hessian-verdict", text: "not cross-checked (--no-check)"}));
    }
  }

  // --- try it: precomputed gradient check and descent step ------------------------------------
  function tools() {
    var gc = page.gradcheck, gd = page.descent;
    var inputs = Object.keys(gc.rows);
    inputs.forEach(function (name) { $("gc-input").appendChild(el("option", {value: name, text: name})); });
    gc.h.forEach(function (h, i) {
      $("gc-h").appendChild(el("option", {value: String(i), text: fmt(h, DIGITS)}));
    });
    $("gc-h").value = String(Math.max(0, gc.h.indexOf(1e-5)));
    if (!inputs.length) { $("gc-run").disabled = true; $("gc-out").textContent = "No input has a partial to check."; }
    if (gc.note) { $("gc-out").textContent = "Note: " + gc.note; }
    $("gc-run").addEventListener("click", function () {
      var name = $("gc-input").value, r = gc.rows[name][parseInt($("gc-h").value, 10)];
      var back = r.backprop !== undefined ? r.backprop : data.gradient[name], box = clear($("gc-out"));
      if (r.estimate === null) {
        box.appendChild(el("p", {cls: "warn", text: "At " + name + " ± " + fmt(r.h, DIGITS) + " the program is undefined: " + r.error}));
        return;
      }
      var rel = Math.abs(r.estimate - back) / Math.max(1e-8, Math.abs(r.estimate) + Math.abs(back));
      box.appendChild(dl([
        row("f(" + name + " + h)", [num(r.plus)]), row("f(" + name + " − h)", [num(r.minus)]),
        row("estimate (f(x+h) − f(x−h)) / 2h", [num(r.estimate)], "gc-estimate"),
        row("backprop ∂" + out + "/∂" + name, [num(back)], "gc-backprop"),
        row("relative error |a − b| / (|a| + |b|)", [fmt(rel, 3)], "gc-rel"),
      ]));
      box.appendChild(el("p", {id: "gc-verdict", cls: rel < 1e-6 ? "verdict-agree" : "verdict-kink", text: rel < 1e-6 ?
        "✓ they agree (relative error below 1e-6)" : atKink(name) ?
        "~ relative error above 1e-6, and the program has a kink here (see the warnings): the central difference averages the slopes on either side of it, while backprop takes the one-sided value the warning names, so another h will not close the gap" :
        "~ relative error above 1e-6: try another h (too big: the curve bends; too small: rounding)"}));
    });
    gd.rates.forEach(function (r, i) { $("gd-rate").appendChild(el("option", {value: String(i), text: fmt(r, DIGITS)})); });
    $("gd-rate").value = String(Math.max(0, gd.rates.indexOf(0.01)));
    if (!gd.moved.length) { $("gd-run").disabled = true; }
    $("gd-run").addEventListener("click", function () {
      var r = gd.rows[parseInt($("gd-rate").value, 10)], box = clear($("gd-out"));
      if (r.value === null) {
        box.appendChild(el("p", {cls: "warn", text: "After this step the program is undefined: " + r.error}));
        return;
      }
      var rows = gd.moved.map(function (k) {
        if (TENSOR) {
          var p = r.point[k];
          return row(k + " ← " + k + " − " + fmt(r.lr, DIGITS) + " · ∂" + out + "/∂" + k, [typeof p === "string" ? p : val(p)]);
        }
        return row(k + " ← " + fmt(data.point[k], DIGITS) + " − " + fmt(r.lr, DIGITS) + " · " + fmt(data.gradient[k], DIGITS), [num(r.point[k])]);
      });
      rows.push(row("new " + out, [num(r.value)], "gd-value"));
      rows.push(row("change", [num(r.value - data.value), r.value < data.value ? " (down ✓)" : " (not down ✗: the rate is too big here)"]));
      rows.push(row("first-order prediction " + out + " − rate·|∇" + out + "|²", [num(r.predicted)]));
      box.appendChild(dl(rows));
    });
  }

  function atKink(name) {          // an input (or an entry "W[1, 0]") where f has a kink
    var base = name.split("[")[0], c = data.check;
    if (c && c.partials && c.partials[base] && c.partials[base].status === "kink") { return true; }
    return (data.warnings || []).some(function (w) { return w.indexOf("not differentiable") >= 0; });
  }

  // --- every step, for reading and printing ------------------------------------------------
  var listed = false;
  function listAll() {
    if (listed) { return; }
    listed = true;
    var box = clear($("all-steps"));
    if (TENSOR) { listArrays(box); return; }
    var ft = el("table", {id: "forward-table"}, [el("caption", {text: "Forward pass"}),
      el("thead", null, [el("tr", null, ["step", "node", "definition", "value"].map(function (h) { return el("th", {scope: "col", text: h}); }))])]);
    var tb = el("tbody");
    FW.forEach(function (s) {
      tb.appendChild(el("tr", null, [el("td", {text: String(s.step)}), el("td", {text: s.node}),
        el("td", {text: s.definition}), el("td", null, [num(s.value)])]));
    });
    ft.appendChild(tb);
    box.appendChild(ft);
    if (B) {
      var bt = el("table", {id: "backward-table"}, [el("caption", {text: "Backward pass (per edge): downstream = upstream × local"}),
        el("thead", null, [el("tr", null, ["step", "edge", "upstream", "local gradient", "local", "downstream", "∂" + out + "/∂target"].map(function (h) { return el("th", {scope: "col", text: h}); }))])]);
      var bb = el("tbody");
      BW.forEach(function (t, b) {
        var p = pathsText(t, lastTo[b]);
        bb.appendChild(el("tr", null, [el("td", {text: String(t.step)}), el("td", {text: t.edge}),
          el("td", null, [num(t.upstream)]), el("td", {text: t.local_formula}), el("td", null, [num(t.local)]),
          el("td", null, [num(t.downstream)]), el("td", null, [num(t.total), p ? " " + p : ""])]));
      });
      bt.appendChild(bb);
      box.appendChild(bt);
    } else {
      box.appendChild(el("p", {text: "Backward pass: no edges to walk (the output is a single node)"}));
    }
  }
  function table(id, caption, head, rows) {
    var t = el("table", {id: id}, [el("caption", {text: caption}),
      el("thead", null, [el("tr", null, head.map(function (h) { return el("th", {scope: "col", text: h}); }))])]);
    t.appendChild(el("tbody", null, rows.map(function (cells) {
      return el("tr", null, cells.map(function (c) { return el("td", null, [c]); }));
    })));
    return t;
  }
  function listArrays(box) {
    box.appendChild(table("forward-table", "Forward pass (each node's shape)", ["step", "node", "definition", "shape", "value"],
      FW.map(function (s) { return [String(s.step), s.node, s.definition, shapeText(s.shape), val(s.value)]; })));
    if (!B) {
      box.appendChild(el("p", {text: "Backward pass: no edges to walk (the output is a single node)"}));
      return;
    }
    box.appendChild(table("backward-table", "Backward pass (per edge): each gradient sent has its target's shape",
      ["step", "edge", "VJP", "shapes", "gradient sent", "∂" + out + "/∂target"],
      BW.map(function (t, b) {
        var p = pathsText(t, lastTo[b]);
        return [String(t.step), t.edge, t.formula, t.dims + " " + (t.shapes_match ? "✓" : "✗") + (t.broadcast ? " (" + t.broadcast + ")" : ""),
          val(t.downstream), el("span", null, [val(t.total), p ? " " + p : ""])];
      })));
  }
  function toggleList() {
    listAll();
    var box = $("all-steps");
    box.hidden = !box.hidden;
    $("list").setAttribute("aria-expanded", String(!box.hidden));
    if (!box.hidden) { box.scrollIntoView({block: "start"}); }
  }
  window.addEventListener("beforeprint", function () { listAll(); $("all-steps").hidden = false; });

  // --- play ------------------------------------------------------------------------------------
  function speed() { return parseFloat($("speed").value); }
  function play() {
    if (cur === N) { go(0); }
    $("play").textContent = "‖ pause";
    $("play").setAttribute("aria-pressed", "true");
    timer = setInterval(function () { go(cur + 1); }, 1000 / speed());
  }
  function pause() {
    clearInterval(timer);
    timer = null;
    $("play").textContent = "▶ play";
    $("play").setAttribute("aria-pressed", "false");
  }
  function toggle() { if (timer) { pause(); } else { play(); } }
  $("speed").addEventListener("input", function () {
    $("speed-text").textContent = speed() + " step" + (speed() === 1 ? "" : "s") + "/s";
    if (timer) { pause(); play(); }
  });

  // --- zoom and pan ----------------------------------------------------------------------------
  var home = null, vb = null;
  function setView(v) {
    vb = v;
    svg.setAttribute("viewBox", v.x + " " + v.y + " " + v.w + " " + v.h);
    if (own) { scheduleRender(); }
  }
  var frame = null;
  function frameSize() {            // the picture's size on screen, read once (and on resize)
    if (!frame) { var r = $("graph").getBoundingClientRect(); frame = {w: r.width || 800, h: r.height || 500}; }
    return frame;
  }
  window.addEventListener("resize", function () { frame = null; if (own && vb) { scheduleRender(); } });
  function scale() {
    var f = frameSize();
    return Math.min(f.w / vb.w, f.h / vb.h) || 1;
  }
  function visible() {              // the user area on screen (the viewBox, widened to the frame)
    var f = frameSize(), s = scale(), w = f.w / s, h = f.h / s;
    return {x: vb.x + vb.w / 2 - w / 2, y: vb.y + vb.h / 2 - h / 2, w: w, h: h};
  }
  function zoom(f, cx, cy) {        // by f, keeping the user point under (cx, cy) in place
    var r = $("graph").getBoundingClientRect(), v = visible(), s = scale();
    var ux = v.x + (cx - r.left) / s, uy = v.y + (cy - r.top) / s;
    setView({x: ux - (ux - vb.x) / f, y: uy - (uy - vb.y) / f, w: vb.w / f, h: vb.h / f});
  }
  function zoomCentre(f) {
    var r = $("graph").getBoundingClientRect();
    zoom(f, r.left + r.width / 2, r.top + r.height / 2);
  }
  function boxOf(g) {               // a Graphviz element's box in the picture's coordinates
    var b = g.getBBox(), m = svg.getScreenCTM().inverse().multiply(g.getScreenCTM());
    var pts = [[b.x, b.y], [b.x + b.width, b.y + b.height]].map(function (p) {
      return {x: m.a * p[0] + m.c * p[1] + m.e, y: m.b * p[0] + m.d * p[1] + m.f};
    });
    return {x: pts[0].x, y: pts[0].y, w: pts[1].x - pts[0].x, h: pts[1].y - pts[0].y};
  }
  function placeOf(k) {             // node k's (first) box
    if (own) { var b = L.boxes[boxesOf[k][0]]; return {x: b[1], y: b[2], w: b[3], h: b[4]}; }
    return nodeEls[k][0] ? boxOf(nodeEls[k][0]) : null;
  }
  function show(b, always) {        // pan (at the same zoom) to have box b on screen
    if (!b || !vb) { return; }
    var v = visible();
    if (!always && b.x >= v.x && b.x + b.w <= v.x + v.w && b.y >= v.y && b.y + b.h <= v.y + v.h) { return; }
    setView({x: b.x + b.w / 2 - vb.w / 2, y: b.y + b.h / 2 - vb.h / 2, w: vb.w, h: vb.h});
  }
  function followCurrent() {
    if (!$("follow").checked || !svg || cur === 0) { return; }
    if (now.node >= 0) { show(placeOf(now.node)); return; }
    var a = placeOf(now.from), b = placeOf(now.to);
    if (!a || !b) { return; }
    var x = Math.min(a.x, b.x), y = Math.min(a.y, b.y);
    var both = {x: x, y: y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y};
    var v = visible();
    show(both.w <= v.w && both.h <= v.h ? both : b);
  }
  function initView() {
    if (own) {
      home = {x: -10, y: -10, w: L.size[0] + 20, h: L.size[1] + 20};
    } else {
      var parts = (svg.getAttribute("viewBox") || "0 0 100 100").split(/[\s,]+/).map(parseFloat);
      home = {x: parts[0], y: parts[1], w: parts[2], h: parts[3]};
    }
    vb = home;
    var s = scale();
    if (s < 0.6) {                  // too small to read whole: start at a readable size
      var f = frameSize();
      vb = {x: home.x, y: home.y, w: f.w, h: f.h};
      var first = placeOf(0);
      if (first) { vb = {x: first.x - 20, y: first.y + first.h / 2 - f.h / 2, w: f.w, h: f.h}; }
    }
    setView(vb);
  }
  function pan(dx, dy) { setView({x: vb.x + dx, y: vb.y + dy, w: vb.w, h: vb.h}); }

  // --- wiring ------------------------------------------------------------------------------
  $("first").addEventListener("click", function () { go(0); });
  $("prev").addEventListener("click", function () { go(cur - 1); });
  $("next").addEventListener("click", function () { go(cur + 1); });
  $("last").addEventListener("click", function () { go(N); });
  $("play").addEventListener("click", toggle);
  $("list").addEventListener("click", toggleList);
  $("list").setAttribute("aria-expanded", "false");
  $("find").addEventListener("submit", function (e) {
    e.preventDefault();
    var name = $("find-name").value.trim();
    if (byLabel.has(name)) { $("find-note").textContent = ""; showNode(byLabel.get(name), false); followNode(byLabel.get(name)); }
    else { $("find-note").textContent = "no node is called " + JSON.stringify(name); }
  });
  function followNode(k) { if (svg) { show(placeOf(k)); } }
  if (svg) {
    svg.addEventListener("click", function (e) {
      var g = e.target.closest ? e.target.closest("[data-n]") : null;
      if (g && !dragged) { showNode(parseInt(g.getAttribute("data-n"), 10), false); }
    });
    var wrap = $("graph"), dragging = null, dragged = false;
    wrap.addEventListener("wheel", function (e) {
      e.preventDefault();
      zoom(e.deltaY < 0 ? 1.2 : 1 / 1.2, e.clientX, e.clientY);
    }, {passive: false});
    wrap.addEventListener("pointerdown", function (e) {
      dragging = {x: e.clientX, y: e.clientY};
      dragged = false;
    });
    window.addEventListener("pointermove", function (e) {
      if (!dragging) { return; }
      var dx = e.clientX - dragging.x, dy = e.clientY - dragging.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) { dragged = true; }
      if (dragged) {
        var s = scale();
        pan(-dx / s, -dy / s);
        dragging = {x: e.clientX, y: e.clientY};
      }
    });
    window.addEventListener("pointerup", function () { dragging = null; });
    $("zoom-in").addEventListener("click", function () { zoomCentre(1.25); });
    $("zoom-out").addEventListener("click", function () { zoomCentre(0.8); });
    $("zoom-fit").addEventListener("click", function () { setView(home); });
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target, tag = t && t.tagName ? t.tagName.toLowerCase() : "";
    if (tag === "input" || tag === "select" || tag === "textarea" || e.altKey || e.ctrlKey || e.metaKey) { return; }
    var onNode = t.closest ? t.closest("[data-n]") : null;
    if (e.key === "Enter" && onNode) { e.preventDefault(); showNode(parseInt(onNode.getAttribute("data-n"), 10), true); return; }
    if (e.shiftKey && svg && e.key.indexOf("Arrow") === 0) {      // pan
      e.preventDefault();
      var d = {ArrowLeft: [-0.2, 0], ArrowRight: [0.2, 0], ArrowUp: [0, -0.2], ArrowDown: [0, 0.2]}[e.key];
      pan(d[0] * vb.w, d[1] * vb.h);
      return;
    }
    var handled = true;
    switch (e.key) {
      case "ArrowRight": go(cur + 1); break;
      case "ArrowLeft": go(cur - 1); break;
      case "Home": go(0); break;
      case "End": go(N); break;
      case " ": case "Spacebar": toggle(); break;
      case "+": case "=": if (svg) { zoomCentre(1.25); } break;
      case "-": if (svg) { zoomCentre(0.8); } break;
      case "0": if (svg) { setView(home); } break;
      case "i": showNode(cur === 0 ? 0 : cur <= F ? cur - 1 : page.edges[cur - F - 1][1], true); break;
      case "l": toggleList(); break;
      default: handled = false;
    }
    if (handled) { e.preventDefault(); }
  });

  performance.mark("init-start");
  results();
  tools();
  performance.mark("view-start");
  if (svg) { initView(); if (own) { render(); } focusable(); }
  performance.mark("view-end");
  describe();
  document.documentElement.setAttribute("data-ready", String(performance.now()));
}());
