// One function: status and replicas with a scale control, invoke, a small
// invocations/latency chart, its configuration, logs, update and delete.

import { ApiError, getFunction, remove, scale } from "./api.js";
import { count, every, h, time } from "./dom.js";
import { invokePanel } from "./invoke.js";
import { readiness } from "./list.js";
import { logsPanel } from "./logs.js";
import { Series, chart, parseMetrics, totals } from "./metrics.js";
import { queuePanel } from "./queue.js";

const REFRESH_MS = 3000;
const METRICS_MS = 5000;
const POINTS = 36;

function pairs(map) {
  const entries = Object.entries(map ?? {});
  if (!entries.length) return h("p", { class: "muted" }, "none");
  return h("dl", { class: "pairs mono" }, entries.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function configCard(fn) {
  const secrets = fn.secrets ?? [];
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
    Object.keys(fn.annotations ?? {}).length > 0 && [h("h3", {}, "Annotations"), pairs(fn.annotations)],
    h("h3", {}, "Secrets"),
    secrets.length ? h("ul", { class: "mono" }, secrets.map((s) => h("li", {}, s))) : h("p", { class: "muted" }, "none"),
    fn.createdAt && h("p", { class: "muted" }, `Created ${new Date(fn.createdAt).toLocaleString()}`),
  );
}

function scaleCard(name, onScaled) {
  const input = h("input", { id: "replicas", type: "number", min: 0, max: 1000, step: 1, inputmode: "numeric", "aria-label": "Desired replicas" });
  const shown = h("strong", { "data-testid": "replicas" });
  const message = h("p", { class: "muted", role: "status" });
  let edited = false;
  input.addEventListener("input", () => { edited = true; });

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
  const series = new Series(POINTS);
  const charts = h("div", { class: "charts" }, h("p", { class: "muted" }, "Collecting…"));
  async function refresh() {
    const response = await fetch("/metrics");
    if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
    series.add(new Date(), totals(parseMetrics(await response.text()), name));
    if (!series.points.length) return;
    charts.replaceChildren(
      chart(series.points, { key: "calls", kind: "bars", title: `Invocations per ${METRICS_MS / 1000} s`, unit: "", limit: POINTS }),
      chart(series.points, { key: "latencyMs", kind: "line", title: "Mean latency", unit: "ms", limit: POINTS }),
    );
  }
  const card = h("section", { class: "card" }, h("h2", {}, "Traffic"), charts, h("p", { class: "help" }, "From faasbox's /metrics since this page opened."));
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
      h("div", { class: "actions" }, h("button", { value: "cancel" }, "Cancel"), h("button", { value: "delete", class: "danger" }, "Delete")),
    ),
  );
  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "delete") return;
    try {
      await remove(name);
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

export function detailView(root, { name }) {
  const header = h("span", { class: "muted", role: "status" });
  const badge = h("span", { class: "badge" });
  const { card: scaleForm, update: showReplicas } = scaleCard(name, () => refresh());
  const traffic = chartCard(name);
  const queue = queuePanel(name);
  const logs = logsPanel(name);
  const config = h("div");
  const dialog = deleteDialog(name);
  const invocations = h("span", { "data-testid": "invocations" });
  let shownConfig = "";

  async function refresh() {
    try {
      const fn = await getFunction(name);
      const [kind, words] = readiness(fn);
      badge.textContent = words;
      badge.className = `badge ${kind}`;
      invocations.textContent = `${count(fn.invocationCount)} invocations`;
      showReplicas(fn);
      const { replicas, availableReplicas, invocationCount, ...rest } = fn;
      if (JSON.stringify(rest) !== shownConfig) {
        shownConfig = JSON.stringify(rest);
        config.replaceChildren(configCard(fn));
      }
      header.textContent = `updated ${time(new Date())}`;
      header.classList.remove("error");
    } catch (err) {
      const gone = err instanceof ApiError && err.status === 404;
      header.textContent = gone ? `${name} does not exist (any more).` : `Could not read ${name}: ${err.message}`;
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
    h("div", { class: "grid" }, invokePanel(name), h("div", { class: "stack" }, scaleForm, traffic.card, queue.card)),
    config,
    logs.panel,
    dialog,
  );

  const stops = [every(REFRESH_MS, refresh), every(METRICS_MS, traffic.refresh), every(REFRESH_MS, queue.refresh), logs.stop];
  return () => stops.forEach((stop) => stop());
}
