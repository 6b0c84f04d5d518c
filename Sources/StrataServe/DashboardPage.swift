/// The live dashboard served at `/`: one page, its CSS and JS inline, no
/// external asset. It polls `/api/series` every second and draws each chart
/// as an SVG (axes, one polyline per series, a legend with the latest
/// value). Every chart's `<figure>` carries `data-points="N"` (points drawn,
/// over all its series) and the `<body>` `data-polls="N"` (answers
/// received): tools/dashboard-check.sh reads them from the DOM a headless
/// browser rendered.
enum DashboardPage {
    static let html = #"""
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Strata job</title>
<style>
  body { font: 13px system-ui, sans-serif; margin: 16px; background: #fafafa; color: #222; }
  h1 { font-size: 18px; margin: 0 0 4px; }
  #status { color: #666; margin-bottom: 12px; }
  #charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 12px; }
  figure { margin: 0; background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: 8px; }
  figcaption { font-weight: 600; margin-bottom: 4px; }
  figcaption span { font-weight: 400; color: #666; }
  svg { width: 100%; height: 180px; display: block; }
  .axis { stroke: #bbb; stroke-width: 1; }
  .grid { stroke: #eee; stroke-width: 1; }
  .tick { fill: #666; font-size: 10px; }
  .legend { display: flex; flex-wrap: wrap; gap: 4px 12px; margin-top: 4px; font-size: 12px; }
  .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
  .empty { fill: #999; font-size: 12px; }
</style>
</head>
<body data-polls="0">
<h1>Strata job</h1>
<div id="status">waiting for the first sample…</div>
<div id="charts"></div>
<script>
"use strict";
const colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
const W = 440, H = 180, L = 58, R = 8, T = 8, B = 22;
let polls = 0;

function fmt(v, unit) {
  if (v === null || v === undefined) return "–";
  const a = Math.abs(v);
  if (unit === "bytes") {
    const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0, x = v;
    while (Math.abs(x) >= 1024 && i < u.length - 1) { x /= 1024; i++; }
    return (i === 0 ? x.toFixed(0) : x.toFixed(1)) + " " + u[i];
  }
  if (a >= 1e6) return (v / 1e6).toFixed(2) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2);
  if (a === 0) return "0";
  return v.toPrecision(2);
}

function el(tag, attrs, parent) {
  const ns = ["svg", "line", "polyline", "text", "circle"].includes(tag) ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml";
  const e = document.createElementNS(ns, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}

function draw(chart, t) {
  let fig = document.getElementById("chart-" + chart.id);
  if (!fig) {
    fig = el("figure", { id: "chart-" + chart.id, class: "chart" }, document.getElementById("charts"));
  }
  fig.textContent = "";
  const cap = el("figcaption", {}, fig);
  cap.textContent = chart.title + " ";
  el("span", {}, cap).textContent = "(" + chart.unit + ")";
  const svg = el("svg", { viewBox: "0 0 " + W + " " + H, preserveAspectRatio: "none" }, fig);
  let lo = Infinity, hi = -Infinity, points = 0;
  for (const s of chart.series) for (const v of s.values) if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (lo > 0) lo = 0;
  if (!(hi > lo)) hi = lo + 1;
  const t0 = t.length ? t[0] : 0, t1 = t.length > 1 ? t[t.length - 1] : t0 + 1;
  const x = ms => L + (W - L - R) * (ms - t0) / Math.max(1, t1 - t0);
  const y = v => H - B - (H - B - T) * (v - lo) / (hi - lo);
  for (let i = 0; i <= 4; i++) {
    const v = lo + (hi - lo) * i / 4, yy = y(v);
    el("line", { class: i ? "grid" : "axis", x1: L, x2: W - R, y1: yy, y2: yy }, svg);
    el("text", { class: "tick", x: L - 4, y: yy + 3, "text-anchor": "end" }, svg).textContent = fmt(v, chart.unit);
  }
  el("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }, svg);
  if (t.length > 1) {
    const span = Math.round((t1 - t0) / 1000);
    el("text", { class: "tick", x: L, y: H - 6 }, svg).textContent = "−" + span + " s";
    el("text", { class: "tick", x: W - R, y: H - 6, "text-anchor": "end" }, svg).textContent = "now";
  }
  const legend = el("div", { class: "legend" }, fig);
  chart.series.forEach((s, i) => {
    const color = colors[i % colors.length];
    const segments = [[]];
    s.values.forEach((v, j) => {
      if (v === null) { if (segments[segments.length - 1].length) segments.push([]); return; }
      segments[segments.length - 1].push(x(t[j]).toFixed(1) + "," + y(v).toFixed(1));
      points++;
    });
    for (const seg of segments) {
      if (seg.length === 1) { const [cx, cy] = seg[0].split(","); el("circle", { cx, cy, r: 2, fill: color }, svg); }
      else if (seg.length > 1) el("polyline", { points: seg.join(" "), fill: "none", stroke: color, "stroke-width": 1.5 }, svg);
    }
    let last = null;
    for (let j = s.values.length - 1; j >= 0; j--) if (s.values[j] !== null) { last = s.values[j]; break; }
    const item = el("span", {}, legend);
    el("i", { style: "background:" + color }, item);
    item.appendChild(document.createTextNode(s.name + " " + fmt(last, chart.unit)));
  });
  if (!points) el("text", { class: "empty", x: W / 2, y: H / 2, "text-anchor": "middle" }, svg).textContent = "no data yet";
  fig.setAttribute("data-points", String(points));
  fig.setAttribute("data-series", String(chart.series.length));
}

async function poll() {
  try {
    const r = await fetch("/api/series", { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    const data = await r.json();
    for (const chart of data.charts) draw(chart, data.t);
    polls++;
    document.body.setAttribute("data-polls", String(polls));
    const when = data.t.length ? new Date(data.t[data.t.length - 1]).toLocaleTimeString() : "–";
    document.getElementById("status").textContent =
      "sampled every " + data.interval_seconds + " s; " + data.t.length + " samples shown (" + data.samples + " taken); last " + when;
  } catch (e) {
    document.getElementById("status").textContent = "cannot read /api/series: " + e.message + " (has the job ended?)";
  }
}
poll();
setInterval(poll, 1000);
</script>
</body>
</html>
"""#
}
