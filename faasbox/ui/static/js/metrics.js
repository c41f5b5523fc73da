// Invocations and latency for one function, from faasbox's own /metrics (Prometheus
// text): the counters are read every few seconds and differenced here, then drawn as
// two small inline SVG charts.

const SAMPLE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;
const WANTED = new Set([
  "gateway_function_invocation_total",
  "gateway_functions_seconds_sum",
  "gateway_functions_seconds_count",
]);
const SVG = "http://www.w3.org/2000/svg";

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
  const out = { calls: 0, errors: 0, seconds: 0, timed: 0 };
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

/** Per-interval points {at, calls, errors, latencyMs} from successive totals. */
export class Series {
  constructor(limit = 40) {
    this.limit = limit;
    this.points = [];
    this.last = null;
  }

  add(at, current) {
    const last = this.last;
    this.last = current;
    if (!last) return;
    // A counter going down means faasbox restarted or the function was re-created.
    const base = current.calls < last.calls ? { calls: 0, errors: 0, seconds: 0, timed: 0 } : last;
    const timed = current.timed - base.timed;
    this.points.push({
      at,
      calls: current.calls - base.calls,
      errors: current.errors - base.errors,
      latencyMs: timed > 0 ? ((current.seconds - base.seconds) / timed) * 1000 : null,
    });
    if (this.points.length > this.limit) this.points.shift();
  }
}

function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
  return el;
}

/**
 * A small chart of `key` over the points: bars for counts, a line for latency.
 * Width is in viewBox units; the SVG scales to its container.
 */
export function chart(points, { key, kind, title, unit, limit }) {
  const width = 200;
  const height = 48;
  const values = points.map((p) => p[key]);
  const max = Math.max(0, ...values.filter((v) => v != null));
  const step = width / limit;
  const y = (v) => height - (v / (max || 1)) * (height - 4);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", role: "img", class: "chart" });
  const label = svg("title", {});
  label.textContent = title;
  root.append(label, svg("line", { x1: 0, x2: width, y1: height - 0.5, y2: height - 0.5, class: "axis" }));
  const offset = (limit - points.length) * step;
  if (kind === "bars") {
    values.forEach((v, i) => {
      if (!v) return;
      root.append(svg("rect", { x: offset + i * step + 1, y: y(v), width: Math.max(1, step - 2), height: height - y(v) }));
    });
  } else {
    const coords = values
      .map((v, i) => (v == null ? null : `${offset + i * step + step / 2},${y(v)}`))
      .filter(Boolean);
    if (coords.length) root.append(svg("polyline", { points: coords.join(" ") }));
  }
  const latest = [...values].reverse().find((v) => v != null);
  const caption = document.createElement("figcaption");
  caption.textContent = `${title}: ${latest == null ? "–" : `${round(latest)} ${unit}`} (max ${round(max)})`;
  const figure = document.createElement("figure");
  figure.append(root, caption);
  return figure;
}

function round(v) {
  return v >= 100 ? Math.round(v) : Number(v.toPrecision(2));
}
