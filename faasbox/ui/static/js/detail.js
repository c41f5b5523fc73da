// One function: status and replicas with a scale control, its URL and a curl
// command, invoke, traffic charts, its configuration, logs, update and delete.
// An unknown (or just deleted) function gets a plain "not found" page instead.

import { ApiError, getFunction, remove, scale } from "./api.js";
import { copyButton, every, h, plural, time, toast } from "./dom.js";
import { invokePanel } from "./invoke.js";
import { statusBadge } from "./list.js";
import { logsPanel } from "./logs.js";
import { Series, chart, parseMetrics, totals } from "./metrics.js";

const REFRESH_MS = 3000;
const METRICS_MS = 5000;
const HISTORY_MS = 60 * 60 * 1000; // kept in localStorage, one point per METRICS_MS
const WINDOW_MS = 5 * 60 * 1000; // drawn at least; up to all the history kept

function pairs(map) {
  const entries = Object.entries(map ?? {});
  if (!entries.length) return h("p", { class: "muted" }, "none");
  return h("dl", { class: "pairs mono" }, entries.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function configCard(fn) {
  const secrets = fn.secrets ?? [];
  const limits = Object.entries(fn.limits ?? {}).filter(([, v]) => v);
  const constraints = fn.constraints ?? [];
  return h(
    "section",
    { class: "card config" },
    h("h2", {}, "Configuration"),
    h("h3", {}, "Image"),
    h("p", { class: "mono" }, fn.image),
    h("h3", {}, "fprocess"),
    h("p", { class: "mono" }, fn.envProcess || h("span", { class: "muted" }, "image default")),
    h("h3", {}, "Environment"),
    pairs(fn.envVars),
    h("h3", {}, "Labels"),
    pairs(fn.labels),
    h("h3", {}, "Annotations"),
    pairs(fn.annotations),
    h("h3", {}, "Secrets"),
    secrets.length ? h("ul", { class: "mono" }, secrets.map((s) => h("li", {}, s))) : h("p", { class: "muted" }, "none"),
    h("h3", {}, "Limits"),
    limits.length ? pairs(Object.fromEntries(limits)) : h("p", { class: "muted" }, "none"),
    h("h3", {}, "Constraints"),
    constraints.length ? h("ul", { class: "mono" }, constraints.map((c) => h("li", {}, c))) : h("p", { class: "muted" }, "none"),
    fn.createdAt && h("p", { class: "muted" }, `Created ${new Date(fn.createdAt).toLocaleString()}`),
  );
}

function endpointCard(name) {
  const url = `${location.origin}/function/${encodeURIComponent(name)}`;
  const curl = `curl -i -d 'hello' ${url}`;
  return h(
    "section",
    { class: "card endpoint" },
    h("h2", {}, "Endpoint"),
    h("p", { class: "row" }, h("code", { class: "mono url", "data-testid": "function-url" }, url), copyButton("Copy URL", "URL", () => url)),
    h("p", { class: "row" }, h("code", { class: "mono url", "data-testid": "curl" }, curl), copyButton("Copy curl", "curl command", () => curl)),
    h("p", { class: "help" }, "Open to anyone who can reach faasbox, as in OpenFaaS: no login needed."),
  );
}

function scaleCard(name, onScaled) {
  const input = h("input", { id: "replicas", type: "number", min: 0, max: 1000, step: 1, inputmode: "numeric" });
  const shown = h("strong", { "data-testid": "replicas" });
  const message = h("p", { class: "muted" });
  let edited = false;
  input.addEventListener("input", () => {
    edited = true;
  });

  const nudge = (by) => {
    input.value = Math.max(0, Number(input.value || 0) + by);
    edited = true;
  };
  async function apply(event) {
    event.preventDefault();
    // An empty box goes to the server as null, which it refuses, rather than as 0.
    const replicas = input.value === "" ? null : Number(input.value);
    try {
      await scale(name, replicas);
      edited = false;
      message.textContent = `Scaling to ${replicas}…`;
      message.classList.remove("error");
      toast(`${name}: scaling to ${plural(replicas, "replica")}`);
      await onScaled();
    } catch (err) {
      message.textContent = err.message;
      message.classList.add("error");
    }
  }

  const card = h(
    "form",
    { class: "card", onsubmit: apply },
    h("h2", {}, "Replicas"),
    h("p", { class: "big" }, shown, h("span", { class: "muted" }, " available / desired")),
    h("label", { for: "replicas", class: "label" }, "Desired replicas"),
    h(
      "div",
      { class: "row" },
      h("button", { type: "button", "aria-label": "One fewer replica", onclick: () => nudge(-1) }, "−"),
      input,
      h("button", { type: "button", "aria-label": "One more replica", onclick: () => nudge(1) }, "+"),
      h("button", { type: "submit", class: "primary" }, "Scale"),
    ),
    message,
  );
  function update(fn) {
    shown.textContent = `${fn.availableReplicas ?? 0} / ${fn.replicas ?? 0}`;
    if (!edited) input.value = fn.replicas ?? 0;
    if (fn.availableReplicas === fn.replicas && message.textContent.startsWith("Scaling")) message.textContent = "";
  }
  return { card, update };
}

function chartCard(name) {
  const storageKey = `faasbox.traffic.${name}`;
  const series = new Series(HISTORY_MS / METRICS_MS, 3 * METRICS_MS);
  try {
    series.restore(JSON.parse(localStorage.getItem(storageKey)));
  } catch {
    // unreadable history starts afresh
  }
  const charts = h("div", { class: "charts" });
  function draw() {
    const to = Date.now();
    series.points = series.points.filter((p) => p.at > to - HISTORY_MS);
    const oldest = series.points[0]?.at ?? to;
    const from = to - Math.max(WINDOW_MS, to - oldest + METRICS_MS);
    if (!series.points.length) {
      charts.replaceChildren(h("p", { class: "muted", "data-testid": "chart-empty" }, `Collecting: the first point appears within ${(2 * METRICS_MS) / 1000} s.`));
      return;
    }
    const span = { from, to, step: METRICS_MS };
    charts.replaceChildren(
      chart(series.points, { kind: "bars", title: `Invocations per ${METRICS_MS / 1000} s`, unit: "req", ...span }),
      chart(series.points, { kind: "line", title: "Mean latency", unit: "ms", ...span }),
    );
  }
  async function refresh() {
    const response = await fetch("/metrics");
    if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
    series.add(Date.now(), totals(parseMetrics(await response.text()), name));
    try {
      localStorage.setItem(storageKey, JSON.stringify(series));
    } catch {
      // storage full or refused: the chart still works for this visit
    }
    draw();
  }
  draw();
  const legend = h("p", { class: "legend help" }, h("span", { class: "key calls" }), " calls ", h("span", { class: "key errors" }), " errors (5xx) · the last hour is kept in this browser");
  const card = h("section", { class: "card" }, h("h2", {}, "Traffic"), charts, legend);
  return { card, refresh };
}

function deleteDialog(name) {
  const error = h("p", { class: "error", role: "alert" });
  const dialog = h(
    "dialog",
    { "aria-labelledby": "delete-title" },
    h(
      "form",
      { method: "dialog" },
      h("h2", { id: "delete-title" }, `Delete ${name}?`),
      h("p", {}, "Its service and replicas are removed. Images and secrets stay."),
      error,
      h("div", { class: "actions" }, h("button", { value: "cancel" }, "Cancel"), h("button", { value: "delete", class: "danger filled" }, "Delete")),
    ),
  );
  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "delete") return;
    try {
      await remove(name);
      toast(`Deleted ${name}`);
      location.hash = "#/";
    } catch (err) {
      error.textContent = err.message;
      confirmDelete(dialog);
    }
  });
  return dialog;
}

function confirmDelete(dialog) {
  dialog.returnValue = ""; // Escape keeps the last value otherwise
  dialog.showModal();
}

/** The page for a name with no function behind it: no controls, nothing polled. */
function notFound(root, name) {
  root.replaceChildren(
    h(
      "section",
      { class: "card not-found" },
      h("h1", {}, `No function called ${name}`),
      h("p", {}, "It was never deployed here, or it has been deleted."),
      h("div", { class: "actions" }, h("a", { class: "button primary", href: "#/" }, "All functions"), h("a", { class: "button", href: "#/new" }, "New function")),
    ),
  );
  root.querySelector("h1").tabIndex = -1;
  root.querySelector("h1").focus();
}

function page(root, name, first) {
  const header = h("span", { class: "muted" });
  const badge = h("span");
  const { card: scaleForm, update: showReplicas } = scaleCard(name, () => refresh());
  const traffic = chartCard(name);
  const logs = logsPanel(name);
  const config = h("div");
  const dialog = deleteDialog(name);
  const invocations = h("span", { "data-testid": "invocations" });
  let shownConfig = "";
  let stops = [];
  const stop = () => stops.forEach((s) => s());

  function show(fn) {
    badge.replaceChildren(statusBadge(fn));
    invocations.textContent = `${plural(fn.invocationCount ?? 0, "invocation")}`;
    showReplicas(fn);
    const { replicas, availableReplicas, invocationCount, ...rest } = fn;
    if (JSON.stringify(rest) !== shownConfig) {
      shownConfig = JSON.stringify(rest);
      config.replaceChildren(configCard(fn));
    }
    header.textContent = `updated ${time(new Date())}`;
    header.classList.remove("error");
  }

  async function refresh() {
    try {
      show(await getFunction(name));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        stop();
        notFound(root, name);
        return;
      }
      header.textContent = `Could not read ${name}: ${err.message}`;
      header.classList.add("error");
    }
  }

  root.append(
    h(
      "div",
      { class: "heading" },
      h("h1", {}, name, " ", badge),
      h(
        "div",
        { class: "actions" },
        h("a", { class: "button", href: `#/fn/${encodeURIComponent(name)}/edit` }, "Update"),
        h("button", { type: "button", class: "danger", onclick: () => confirmDelete(dialog) }, "Delete"),
      ),
    ),
    h("p", { class: "subtitle" }, invocations, " · ", header),
    h("div", { class: "grid" }, h("div", { class: "stack" }, invokePanel(name), endpointCard(name)), h("div", { class: "stack" }, scaleForm, traffic.card)),
    config,
    logs.panel,
    dialog,
  );
  show(first);
  stops = [every(REFRESH_MS, refresh), every(METRICS_MS, traffic.refresh), logs.stop];
  return stop;
}

export function detailView(root, { name }) {
  let stop = () => {};
  let left = false;
  root.append(h("p", { class: "muted" }, `Loading ${name}…`));
  getFunction(name)
    .then((fn) => {
      if (left) return;
      root.replaceChildren();
      stop = page(root, name, fn);
    })
    .catch((err) => {
      if (left) return;
      if (err instanceof ApiError && err.status === 404) notFound(root, name);
      else root.replaceChildren(h("h1", {}, name), h("p", { class: "error", role: "alert" }, `Could not read ${name}: ${err.message}`), h("a", { href: "#/" }, "All functions"));
    });
  return () => {
    left = true;
    stop();
  };
}
