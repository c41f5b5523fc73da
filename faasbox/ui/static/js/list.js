// The functions list: image, replicas (available/desired) and invocations, refreshed
// every few seconds while the tab is visible.

import { listFunctions } from "./api.js";
import { count, every, h, time } from "./dom.js";

const REFRESH_MS = 3000;

/** [css class, words] for a function's replicas: scaled to zero, paused, ready or starting. */
export function readiness(fn) {
  if (fn.replicas === 0) return ["idle", "scaled to zero"];
  if (fn.faasbox?.tier === "paused") return ["idle", "paused"];
  if (fn.availableReplicas >= fn.replicas) return ["ready", "ready"];
  return ["pending", "starting"];
}

function row(fn) {
  const [kind, words] = readiness(fn);
  const link = `#/fn/${encodeURIComponent(fn.name)}`;
  return h(
    "tr",
    { "data-name": fn.name },
    h("td", { "data-label": "Name" }, h("span", {}, h("span", { class: `dot ${kind}`, title: words }), h("a", { href: link }, fn.name))),
    h("td", { "data-label": "Image", class: "mono" }, fn.image),
    h("td", { "data-label": "Replicas", class: "num" }, `${fn.availableReplicas ?? 0}/${fn.replicas ?? 0}`),
    h("td", { "data-label": "Invocations", class: "num" }, count(fn.invocationCount)),
  );
}

export function listView(root) {
  const filter = h("input", { type: "search", placeholder: "Filter by name or image", "aria-label": "Filter" });
  const body = h("tbody");
  const status = h("p", { class: "muted", role: "status" });
  let functions = [];

  function draw() {
    const words = filter.value.trim().toLowerCase();
    const shown = functions.filter((f) => `${f.name} ${f.image}`.toLowerCase().includes(words));
    body.replaceChildren(...shown.map(row));
    if (!functions.length) {
      body.append(h("tr", {}, h("td", { colspan: 4, class: "empty" }, "No functions yet. ", h("a", { href: "#/new" }, "Create one"), ".")));
    }
  }

  filter.addEventListener("input", draw);
  root.append(
    h("div", { class: "heading" }, h("h1", {}, "Functions"), h("a", { class: "button primary", href: "#/new" }, "New function")),
    filter,
    h(
      "table",
      { class: "functions" },
      h("thead", {}, h("tr", {}, ["Name", "Image", "Replicas", "Invocations"].map((t) => h("th", { scope: "col" }, t)))),
      body,
    ),
    status,
  );

  return every(REFRESH_MS, async () => {
    try {
      functions = await listFunctions();
      draw();
      status.textContent = `${functions.length} function(s), updated ${time(new Date())}`;
      status.classList.remove("error");
    } catch (err) {
      status.textContent = `Could not list functions: ${err.message}`;
      status.classList.add("error");
    }
  });
}
