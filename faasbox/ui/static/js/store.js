// The function store: a gallery of the catalogue faasbox serves at /system/store
// (its sample functions, or the operator's FAASBOX_STORE), each deployable in one
// click through the same deploy call as the form.

import { ApiError, deploy, info, listFunctions, store } from "./api.js";
import { h, plural, toast } from "./dom.js";

/** The image for this machine's architecture, else the first one listed. */
function imageFor(entry, arch) {
  return entry.images[arch] ?? Object.values(entry.images)[0];
}

/** The FunctionDeployment a store entry stands for (the network is faasbox's own). */
export function deployment(entry, arch) {
  return {
    service: entry.name,
    image: imageFor(entry, arch),
    envProcess: entry.fprocess,
    envVars: entry.environment,
    labels: entry.labels,
    annotations: entry.annotations,
    readOnlyRootFilesystem: entry.readOnlyRootFilesystem,
  };
}

function card(entry, arch, deployed) {
  const link = `#/fn/${encodeURIComponent(entry.name)}`;
  const error = h("p", { class: "error", hidden: true });
  const action = h("div", { class: "actions" });
  const showDeployed = () => action.replaceChildren(h("span", { class: "badge ready" }, "deployed"), h("a", { class: "button", href: link }, `Open ${entry.name}`));
  const button = h("button", { type: "button", class: "primary", "aria-describedby": `store-${entry.name}-title` }, "Deploy");
  button.addEventListener("click", async () => {
    button.disabled = true;
    error.hidden = true;
    try {
      await deploy(deployment(entry, arch));
      toast(`Deployed ${entry.name}`);
      showDeployed();
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : `Could not deploy: ${err.message}`;
      error.hidden = false;
      error.setAttribute("role", "alert");
      button.disabled = false;
    }
  });
  if (deployed) showDeployed();
  else action.append(button);
  return h(
    "article",
    { class: "card store-item", "data-name": entry.name },
    h("h2", { id: `store-${entry.name}-title` }, entry.title),
    h("p", {}, entry.description),
    h("dl", { class: "pairs mono" }, h("dt", {}, "name"), h("dd", {}, entry.name), h("dt", {}, "image"), h("dd", {}, imageFor(entry, arch)), entry.fprocess && [h("dt", {}, "fprocess"), h("dd", {}, entry.fprocess)]),
    entry.repo_url && h("p", {}, h("a", { href: entry.repo_url, rel: "noopener" }, "Source")),
    error,
    action,
  );
}

export function storeView(root) {
  let left = false;
  const filter = h("input", { id: "store-filter", type: "search", placeholder: "name or description", autocomplete: "off" });
  const gallery = h("div", { class: "gallery" });
  const counted = h("p", { class: "muted", role: "status" }, "Loading the catalogue…");
  root.append(
    h("div", { class: "heading" }, h("h1", {}, "Function store")),
    h("p", { class: "help" }, "Ready-made functions; Deploy creates one with its defaults, which you can change with Update afterwards."),
    h("div", { class: "filter" }, h("label", { for: "store-filter" }, "Filter"), filter),
    counted,
    gallery,
  );

  Promise.all([store(), info().then((i) => i.arch).catch(() => "x86_64"), listFunctions().catch(() => [])])
    .then(([catalogue, arch, functions]) => {
      if (left) return;
      const names = new Set(functions.map((f) => f.name));
      const cards = catalogue.functions.map((entry) => [entry, card(entry, arch, names.has(entry.name))]);
      const draw = () => {
        const words = filter.value.trim().toLowerCase();
        const shown = cards.filter(([e]) => `${e.name} ${e.title} ${e.description}`.toLowerCase().includes(words));
        gallery.replaceChildren(...shown.map(([, el]) => el));
        const total = plural(cards.length, "function");
        counted.textContent = words ? `${shown.length} of ${total}` : total;
        if (!shown.length) gallery.append(h("p", { class: "empty" }, cards.length ? `No store function matches “${filter.value.trim()}”.` : "The catalogue is empty."));
      };
      filter.addEventListener("input", draw);
      draw();
    })
    .catch((err) => {
      if (left) return;
      counted.textContent = `Could not read the store: ${err.message}`;
      counted.classList.add("error");
    });
  return () => {
    left = true;
  };
}
