// The functions list: status, image, replicas (available/desired) and invocations,
// refreshed every few seconds while the tab is visible; filtered and sorted here.

import { listFunctions } from "./api.js";
import { count, every, h, plural, time } from "./dom.js";

const REFRESH_MS = 3000;
const SORT_KEY = "faasbox.list.sort";

/** [css class, words] for a function's replicas: scaled to zero, paused, ready or starting. */
export function readiness(fn) {
  if (fn.replicas === 0) return ["idle", "scaled to zero"];
  if (fn.faasbox?.tier === "paused") return ["idle", "paused"];
  if (fn.availableReplicas >= fn.replicas) return ["ready", "ready"];
  return ["pending", "starting"];
}

/** The status badge: words and a colour, never the colour alone. */
export function statusBadge(fn) {
  const [kind, words] = readiness(fn);
  return h("span", { class: `badge ${kind}`, "data-testid": "status" }, words);
}

const COLUMNS = [
  { key: "name", title: "Name", value: (f) => f.name.toLowerCase() },
  { key: "status", title: "Status", value: (f) => readiness(f)[1] },
  { key: "image", title: "Image", value: (f) => f.image.toLowerCase() },
  { key: "replicas", title: "Replicas", numeric: true, value: (f) => f.availableReplicas ?? 0 },
  { key: "invocations", title: "Invocations", numeric: true, value: (f) => f.invocationCount ?? 0 },
];

function row(fn) {
  const link = `#/fn/${encodeURIComponent(fn.name)}`;
  return h(
    "tr",
    { "data-name": fn.name },
    h("td", { "data-label": "Name" }, h("a", { href: link }, fn.name)),
    h("td", { "data-label": "Status" }, statusBadge(fn)),
    h("td", { "data-label": "Image", class: "mono" }, fn.image),
    h("td", { "data-label": "Replicas", class: "num" }, `${fn.availableReplicas ?? 0}/${fn.replicas ?? 0}`),
    h("td", { "data-label": "Invocations", class: "num" }, count(fn.invocationCount)),
  );
}

function savedSort() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SORT_KEY));
    if (COLUMNS.some((c) => c.key === saved?.key)) return { key: saved.key, down: Boolean(saved.down) };
  } catch {
    // a bad saved value falls back to the default order
  }
  return { key: "name", down: false };
}

export function listView(root) {
  const filter = h("input", { id: "list-filter", type: "search", placeholder: "name or image", autocomplete: "off" });
  const body = h("tbody");
  // Only the count is live: the refresh time changes every few seconds and is not news.
  const counted = h("span", { role: "status", "data-testid": "list-count" });
  const when = h("span");
  const status = h("p", { class: "muted" }, counted, when);
  const sort = savedSort();
  let functions = [];
  let loaded = false;
  let updated = "";

  const sortBy = (key, down) => {
    sort.key = key;
    sort.down = down;
    sessionStorage.setItem(SORT_KEY, JSON.stringify(sort));
    draw();
  };
  const headers = COLUMNS.map((column) => {
    const button = h("button", { type: "button", class: "sort" }, column.title);
    const th = h("th", { scope: "col", class: column.numeric ? "num" : null, "data-key": column.key }, button);
    button.addEventListener("click", () => sortBy(column.key, sort.key === column.key ? !sort.down : Boolean(column.numeric)));
    return th;
  });
  // Phones show rows as cards, without the header row: the order is a menu there.
  const order = h("select", { id: "list-sort" }, COLUMNS.map((c) => h("option", { value: c.key }, c.title)));
  order.addEventListener("change", () => sortBy(order.value, Boolean(COLUMNS.find((c) => c.key === order.value).numeric)));

  function sorted(list) {
    const column = COLUMNS.find((c) => c.key === sort.key);
    const sign = sort.down ? -1 : 1;
    return [...list].sort((a, b) => {
      const [x, y] = [column.value(a), column.value(b)];
      const order = x < y ? -1 : x > y ? 1 : 0;
      return order * sign || a.name.localeCompare(b.name);
    });
  }

  function draw() {
    order.value = sort.key;
    for (const th of headers) {
      if (th.dataset.key === sort.key) th.setAttribute("aria-sort", sort.down ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    }
    const words = filter.value.trim().toLowerCase();
    const shown = sorted(functions.filter((f) => `${f.name} ${f.image}`.toLowerCase().includes(words)));
    body.replaceChildren(...shown.map(row));
    if (loaded && !functions.length) {
      body.append(h("tr", {}, h("td", { colspan: COLUMNS.length, class: "empty" }, "No functions yet. ", h("a", { href: "#/new" }, "Create one"), " or ", h("a", { href: "#/store" }, "deploy one from the store"), ".")));
    } else if (functions.length && !shown.length) {
      body.append(h("tr", {}, h("td", { colspan: COLUMNS.length, class: "empty", "data-testid": "no-match" }, `No function matches “${filter.value.trim()}”.`)));
    }
    if (!loaded) return;
    const total = plural(functions.length, "function");
    counted.textContent = words ? `${count(shown.length)} of ${total}` : total;
    when.textContent = `, updated ${updated}`;
  }

  filter.addEventListener("input", draw);
  root.append(
    h("div", { class: "heading" }, h("h1", {}, "Functions"), h("a", { class: "button primary", href: "#/new" }, "New function")),
    h("div", { class: "filter" }, h("label", { for: "list-filter" }, "Filter"), filter, h("label", { for: "list-sort", class: "phone-only" }, "Sort"), h("span", { class: "phone-only" }, order)),
    h("table", { class: "functions" }, h("thead", {}, h("tr", {}, headers)), body),
    status,
  );

  return every(REFRESH_MS, async () => {
    try {
      functions = await listFunctions();
      loaded = true;
      updated = time(new Date());
      status.classList.remove("error");
      draw();
    } catch (err) {
      counted.textContent = `Could not list functions: ${err.message}`;
      when.textContent = "";
      status.classList.add("error");
    }
  });
}
