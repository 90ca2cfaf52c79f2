// walferry's status page: polls /api/overview and /api/history every few seconds and renders them. No library,
// no network access beyond this server: the charts are hand-written SVG.
"use strict";

const COLORS = ["#1f6fb2", "#c0262d", "#2e8540", "#b26b00", "#7c3aed", "#0e7490", "#be185d", "#4d7c0f"];
const POLL_MS = 5000;
let token = sessionStorage.getItem("walferry-token") || "";

function $(id) { return document.getElementById(id); }

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? "-" : String(c)));
  return e;
}

function svgEl(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function bytes(n) {
  if (n == null) return "-";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function duration(s) {
  if (s == null) return "-";
  s = Math.round(s);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min" + (s % 60 ? " " + (s % 60) + " s" : "");
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}

function num(v, digits) {
  if (v == null || v === "") return "-";
  const n = Number(v);
  return Number.isFinite(n) ? n.toFixed(digits) : String(v);
}

// The colour class of a state as status shows it ("CAUGHT UP", "not running (last: FAILED)", ...).
function stateClass(state) {
  if (/FAILED/.test(state)) return "failed";
  if (/^not running/.test(state) || /STOPPED/.test(state)) return "idle";
  if (/CAUGHT UP/.test(state)) return "ok";
  if (/PAUSED/.test(state)) return "warn";
  return "busy";
}

async function get(path) {
  const headers = token ? { Authorization: "Bearer " + token } : {};
  const res = await fetch(path, { headers, cache: "no-store" });
  if (res.status === 401) {
    $("login").hidden = false;
    throw new Error("a bearer token is required");
  }
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

function renderSets(o) {
  const body = $("sets").tBodies[0];
  body.replaceChildren();
  const shown = new Set();
  for (const s of o.status) {
    const name = s.set;
    shown.add(name);
    const d = (s.direction === "forward" && o.derived[name]) || {};
    const extra = o.sets[name] || {};
    const label = (s.direction === "fallback" ? "fallback " : "") + name;
    const slot = s.slot_active === undefined ? (s.slot_confirmed_lsn || "-")
      : (s.slot_active ? "read" : "not read") + (s.slot_wal_status ? " (" + s.slot_wal_status + ")" : "");
    const warnings = (s.warnings || []).join(" ");
    body.append(el("tr", { "data-set": name, "data-direction": s.direction || "forward" },
      el("td", {}, label),
      el("td", {}, el("span", { class: "state " + stateClass(s.state), "data-state": s.state }, s.state)),
      el("td", {}, extra.load_state),
      el("td", { class: "num" }, bytes(d.lag_bytes)),
      el("td", { class: "num" }, num(d.lag_seconds, 1)),
      el("td", { class: "num" }, d.eta_seconds == null ? "-" : duration(d.eta_seconds)),
      el("td", { class: "num" }, num(s.rows_per_second, 1)),
      el("td", { class: "num" }, bytes(s.slot_retained_wal_bytes)),
      el("td", {}, slot),
      el("td", { class: "num" }, s.exceptions),
      el("td", {}, el("pre", {}, [s.last_error, warnings].filter(Boolean).join("\n") || "-"))));
  }
  // Sets still loading have no status row yet: listed with their load state.
  for (const [name, extra] of Object.entries(o.sets)) {
    if (shown.has(name)) continue;
    const state = extra.load_state === "loaded" ? "loaded, CDC not started" : "load: " + extra.load_state;
    body.append(el("tr", { "data-set": name, "data-direction": "forward" },
      el("td", {}, name),
      el("td", {}, el("span", { class: "state " + (extra.load_state === "failed" ? "failed" : "busy"),
                               "data-state": state }, state)),
      el("td", {}, extra.load_state), el("td", {}, "-"), el("td", {}, "-"), el("td", {}, "-"), el("td", {}, "-"),
      el("td", {}, "-"), el("td", {}, "-"), el("td", {}, "-"), el("td", {}, "-")));
  }
  if (o.cutover.step) {
    $("cutover").hidden = false;
    $("cutover").textContent = "cutover: " + o.cutover.step +
      (o.cutover.downtime_seconds != null ? " · downtime " + duration(o.cutover.downtime_seconds) : "");
  }
}

function renderLoad(o) {
  const tables = o.load.filter(t => o.sets[t.set] && o.sets[t.set].load_state !== "loaded" || t.state !== "copied");
  $("load-section").hidden = tables.length === 0;
  const body = $("load").tBodies[0];
  body.replaceChildren();
  for (const t of tables) {
    const total = t.state === "copied" ? t.rows_copied : Math.max(t.rows_estimated || 0, t.rows_copied);
    const progress = el("progress", { max: String(Math.max(total, 1)), value: String(t.state === "copied" ? Math.max(total, 1) : t.rows_copied) });
    body.append(el("tr", { "data-table": t.table, "data-set": t.set },
      el("td", {}, t.set), el("td", {}, t.table), el("td", {}, t.state), el("td", {}, progress),
      el("td", { class: "num" }, t.rows_copied + (total > t.rows_copied ? " of ~" + total : "")),
      el("td", { class: "num" }, bytes(t.bytes_copied)),
      el("td", { class: "num" }, t.eta_seconds == null ? "-" : duration(t.eta_seconds))));
  }
}

function renderLists(o) {
  const sus = $("suspended").tBodies[0];
  sus.replaceChildren();
  for (const s of o.status) {
    for (const t of s.suspended_tables || []) {
      sus.append(el("tr", {}, el("td", {}, s.set), el("td", {}, t.table), el("td", {}, t.since_lsn),
                    el("td", {}, t.suspended_at), el("td", {}, el("pre", {}, t.error))));
    }
  }
  $("suspended").hidden = sus.rows.length === 0;
  $("suspended-none").hidden = sus.rows.length !== 0;
  const ex = $("exceptions").tBodies[0];
  ex.replaceChildren();
  for (const e of o.exceptions) {
    ex.append(el("tr", {}, el("td", {}, e.time), el("td", {}, e.set), el("td", {}, e.table),
                 el("td", {}, el("pre", {}, e.error)), el("td", {}, el("pre", {}, e.statement))));
  }
  $("exceptions").hidden = ex.rows.length === 0;
  $("exceptions-none").hidden = ex.rows.length !== 0;
}

// One line per set over the history (x: the last hour, or since the first reading when that is shorter, at least ten
// seconds); y from 0 to the largest value. Sets data-points to the points drawn.
function chart(svg, history, key, format) {
  svg.replaceChildren();
  const W = 600, H = 200, L = 56, B = 18;
  const names = [...new Set(history.flatMap(h => Object.keys(h.sets)))].sort();
  const t1 = history.length ? history[history.length - 1].time : Date.now() / 1000;
  const span = Math.min(3600, Math.max(10, history.length ? t1 - history[0].time : 0));
  const t0 = t1 - span;
  let max = 0;
  for (const h of history) for (const n of names) {
    const v = h.sets[n] && h.sets[n][key];
    if (v != null && Number(v) > max) max = Number(v);
  }
  if (max <= 0) max = 1;
  const x = t => L + (W - L - 4) * (t - t0) / span;
  const y = v => 4 + (H - B - 8) * (1 - v / max);
  svg.append(svgEl("line", { x1: L, y1: y(0), x2: W - 4, y2: y(0), stroke: "#c8ccd4" }));
  for (const [v, label] of [[max, format(max)], [max / 2, format(max / 2)], [0, "0"]]) {
    const t = svgEl("text", { x: 2, y: Math.max(10, y(v) + 3) });
    t.textContent = label;
    svg.append(t);
  }
  const left = svgEl("text", { x: L, y: H - 4 }); left.textContent = "-" + duration(span); svg.append(left);
  const right = svgEl("text", { x: W - 30, y: H - 4 }); right.textContent = "now"; svg.append(right);
  let points = 0;
  names.forEach((n, i) => {
    const pts = [];
    for (const h of history) {
      const v = h.sets[n] && h.sets[n][key];
      if (v != null) pts.push(x(h.time).toFixed(1) + "," + y(Number(v)).toFixed(1));
    }
    points += pts.length;
    if (pts.length === 1) pts.push(pts[0]);
    svg.append(svgEl("polyline", { points: pts.join(" "), fill: "none", stroke: COLORS[i % COLORS.length],
                                   "stroke-width": 2, "data-set": n, "data-points": pts.length ? String(points) : "0",
                                   "vector-effect": "non-scaling-stroke" }));
  });
  svg.setAttribute("data-points", String(points));
  return names;
}

function renderCharts(history) {
  const names = chart($("lag-chart"), history, "lag_bytes", bytes);
  chart($("rate-chart"), history, "rows_per_second", v => v.toFixed(v < 10 ? 1 : 0));
  $("legend").replaceChildren(...names.map((n, i) => el("span", { style: "color:" + COLORS[i % COLORS.length] }, "■ " + n)));
}

async function refresh() {
  try {
    const [o, history] = await Promise.all([get("/api/overview"), get("/api/history")]);
    $("error").hidden = true;
    renderSets(o);
    renderLoad(o);
    renderLists(o);
    renderCharts(history);
    $("updated").textContent = "updated " + new Date(o.time * 1000).toLocaleTimeString();
    document.body.setAttribute("data-ready", "1");
  } catch (e) {
    $("error").hidden = false;
    $("error").textContent = "cannot read the status: " + e.message;
  }
}

$("login").addEventListener("submit", ev => {
  ev.preventDefault();
  token = $("token").value.trim();
  sessionStorage.setItem("walferry-token", token);
  $("login").hidden = true;
  refresh();
});

refresh();
setInterval(refresh, POLL_MS);
