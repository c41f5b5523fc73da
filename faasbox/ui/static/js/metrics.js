// Invocations, errors and latency for one function, from faasbox's own /metrics
// (Prometheus text): the counters are read every few seconds and differenced here,
// kept in localStorage (so a reload or a later visit keeps the history), then drawn
// as inline SVG charts with time and value axes.

const SAMPLE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;
const WANTED = new Set([
  "gateway_function_invocation_total",
  "gateway_functions_seconds_sum",
  "gateway_functions_seconds_count",
]);
const SVG = "http://www.w3.org/2000/svg";
const ZERO = { calls: 0, errors: 0, seconds: 0, timed: 0 };

/** The samples of the metrics this module uses: [{name, labels, value}]. */
export function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    const match = SAMPLE.exec(line);
    if (!match || !WANTED.has(match[1])) continue;
    const labels = Object.fromEntries([...(match[2] ?? "").matchAll(LABEL)].map((m) => [m[1], m[2]]));
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** Totals since faasbox started for `name` (bare or `name.<namespace>`), over all codes. */
export function totals(samples, name) {
  const out = { ...ZERO };
  for (const { name: metric, labels, value } of samples) {
    const fn = labels.function_name ?? "";
    if (fn !== name && !fn.startsWith(`${name}.`)) continue;
    if (metric === "gateway_function_invocation_total") {
      out.calls += value;
      if (Number(labels.code) >= 500) out.errors += value;
    } else if (metric === "gateway_functions_seconds_sum") out.seconds += value;
    else out.timed += value;
  }
  return out;
}

/**
 * Per-interval points {at, calls, errors, latencyMs} from successive totals.
 * `maxGap` (same unit as `at`): a previous read older than that is not differenced
 * against (the page was closed meanwhile), so idle time shows as a gap.
 */
export class Series {
  constructor(limit = 40, maxGap = Infinity) {
    this.limit = limit;
    this.maxGap = maxGap;
    this.points = [];
    this.last = null;
    this.lastAt = null;
  }

  add(at, current) {
    const last = this.last;
    const fresh = last && at - this.lastAt <= this.maxGap;
    this.last = current;
    this.lastAt = at;
    if (!fresh) return;
    // A counter going down means faasbox restarted or the function was re-created.
    const base = current.calls < last.calls ? ZERO : last;
    const timed = current.timed - base.timed;
    this.points.push({
      at,
      calls: current.calls - base.calls,
      errors: current.errors - base.errors,
      latencyMs: timed > 0 ? ((current.seconds - base.seconds) / timed) * 1000 : null,
    });
    if (this.points.length > this.limit) this.points.splice(0, this.points.length - this.limit);
  }

  toJSON() {
    return { points: this.points, last: this.last, lastAt: this.lastAt };
  }

  restore(saved) {
    if (!saved || !Array.isArray(saved.points)) return;
    this.points = saved.points.slice(-this.limit);
    this.last = saved.last ?? null;
    this.lastAt = saved.lastAt ?? null;
  }
}

function svg(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
  if (text != null) el.textContent = text;
  return el;
}

function round(v) {
  return v >= 100 ? String(Math.round(v)) : String(Number(v.toPrecision(2)));
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false, hour: "2-digit", minute: "2-digit" });
}

const W = 320;
const H = 110;
const LEFT = 34;
const RIGHT = 6;
const TOP = 8;
const BOTTOM = 18;

/**
 * A chart of the points over [`from`, `to`] (ms): stacked bars of calls and errors,
 * or a latency line that breaks where samples are missing (more than 2 steps apart).
 * Each point covers the `step` ms before its `at`.
 */
export function chart(points, { kind, title, unit, from, to, step }) {
  const key = kind === "bars" ? "calls" : "latencyMs";
  const shown = points.filter((p) => p.at > from && p.at <= to + step);
  const values = shown.map((p) => p[key]).filter((v) => v != null);
  const max = Math.max(0, ...values);
  const top = max > 0 ? max : 1;
  const x = (at) => LEFT + ((at - from) / (to - from)) * (W - LEFT - RIGHT);
  const y = (v) => H - BOTTOM - (v / top) * (H - BOTTOM - TOP);
  const width = Math.max(1, x(from + step) - x(from) - 0.5);

  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart", "aria-label": title, "data-kind": kind });
  // Axes: value 0 and the top value with the unit, and times along the bottom.
  root.append(
    svg("line", { x1: LEFT, x2: W - RIGHT, y1: H - BOTTOM, y2: H - BOTTOM, class: "axis" }),
    svg("line", { x1: LEFT, x2: W - RIGHT, y1: TOP, y2: TOP, class: "grid" }),
    svg("text", { x: LEFT - 3, y: H - BOTTOM, class: "tick", "text-anchor": "end", "dominant-baseline": "middle" }, "0"),
    svg("text", { x: LEFT - 3, y: TOP, class: "tick", "text-anchor": "end", "dominant-baseline": "middle" }, `${round(top)}${unit ? ` ${unit}` : ""}`),
  );
  for (const [at, anchor] of [[from, "start"], [(from + to) / 2, "middle"], [to, "end"]]) {
    root.append(svg("text", { x: x(at), y: H - 4, class: "tick time", "text-anchor": anchor }, clock(at)));
  }

  if (kind === "bars") {
    for (const p of shown) {
      const ok = p.calls - p.errors;
      const left = x(p.at - step);
      if (ok > 0) root.append(svg("rect", { x: left, y: y(p.calls), width, height: y(p.errors) - y(p.calls), class: "calls" }));
      if (p.errors > 0) root.append(svg("rect", { x: left, y: y(p.errors), width, height: y(0) - y(p.errors), class: "errors" }));
    }
  } else {
    let run = [];
    const flush = () => {
      if (run.length === 1) root.append(svg("circle", { cx: run[0][0], cy: run[0][1], r: 2.2, class: "point" }));
      else if (run.length > 1) root.append(svg("polyline", { points: run.map((c) => c.join(",")).join(" ") }));
      run = [];
    };
    let previous = null;
    for (const p of shown) {
      if (p.latencyMs == null || (previous != null && p.at - previous > 2 * step)) flush();
      if (p.latencyMs != null) run.push([x(p.at - step / 2), y(p.latencyMs)]);
      previous = p.at;
    }
    flush();
  }

  const latest = [...shown].reverse().find((p) => p[key] != null);
  const caption = document.createElement("figcaption");
  const now = latest == null ? "no data yet" : `latest ${round(latest[key])}${unit ? ` ${unit}` : ""}`;
  let text = `${title}: ${now}, peak ${round(max)}${unit ? ` ${unit}` : ""}`;
  if (kind === "bars") text += `, ${shown.reduce((sum, p) => sum + p.errors, 0)} errors (5xx)`;
  caption.textContent = text;
  const figure = document.createElement("figure");
  figure.append(root, caption);
  return figure;
}
