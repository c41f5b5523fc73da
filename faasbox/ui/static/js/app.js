// The portal's router: `#/` functions, `#/new` create, `#/store` the function store,
// `#/fn/<name>` one function, `#/fn/<name>/edit` update. Each view gets an empty
// <main> and returns its cleanup (stop timers, abort streams), called when the route
// changes. A new page starts at the top with focus on its heading, as a page load would.

import { info } from "./api.js";
import { detailView } from "./detail.js";
import { formView } from "./form.js";
import { listView } from "./list.js";
import { storeView } from "./store.js";

const ROUTES = [
  [/^#?\/?$/, "list", () => [listView, {}]],
  [/^#\/new$/, "new", () => [formView, {}]],
  [/^#\/store$/, "store", () => [storeView, {}]],
  [/^#\/fn\/([^/]+)\/edit$/, "", (name) => [formView, { name }]],
  [/^#\/fn\/([^/]+)$/, "", (name) => [detailView, { name }]],
];

const main = document.getElementById("view");
let cleanup = () => {};

/** Focus the view's heading once it is drawn (views may draw after a fetch). */
function focusHeading() {
  const focus = () => {
    const heading = main.querySelector("h1");
    if (!heading) return false;
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
    return true;
  };
  if (focus()) return;
  const watcher = new MutationObserver(() => focus() && watcher.disconnect());
  watcher.observe(main, { childList: true, subtree: true });
  setTimeout(() => watcher.disconnect(), 5000);
}

function route() {
  cleanup();
  main.replaceChildren();
  window.scrollTo(0, 0);
  for (const [pattern, nav, pick] of ROUTES) {
    const match = pattern.exec(location.hash);
    if (!match) continue;
    const [view, params] = pick(...match.slice(1).map(decodeURIComponent));
    document.title = params.name ? `${params.name} · faasbox` : "faasbox";
    for (const link of document.querySelectorAll("[data-nav]")) {
      if (link.dataset.nav === nav) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    cleanup = view(main, params);
    focusHeading();
    return;
  }
  location.hash = "#/";
}

window.addEventListener("hashchange", route);
route();
info()
  .then((i) => {
    document.getElementById("version").textContent = `${i.provider.provider} ${i.version.release} · ${i.arch}`;
  })
  .catch(() => {}); // the version line is a nicety; the views report real failures
