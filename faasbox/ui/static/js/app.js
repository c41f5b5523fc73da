// The portal's router: `#/` functions, `#/new` create, `#/fn/<name>` one function,
// `#/fn/<name>/edit` update. Each view gets an empty <main> and returns its cleanup
// (stop timers, abort streams), called when the route changes.

import { info } from "./api.js";
import { detailView } from "./detail.js";
import { formView } from "./form.js";
import { listView } from "./list.js";

const ROUTES = [
  [/^#?\/?$/, () => [listView, {}]],
  [/^#\/new$/, () => [formView, {}]],
  [/^#\/fn\/([^/]+)\/edit$/, (name) => [formView, { name }]],
  [/^#\/fn\/([^/]+)$/, (name) => [detailView, { name }]],
];

const main = document.getElementById("view");
let cleanup = () => {};

function route() {
  cleanup();
  main.replaceChildren();
  for (const [pattern, pick] of ROUTES) {
    const match = pattern.exec(location.hash);
    if (!match) continue;
    const [view, params] = pick(...match.slice(1).map(decodeURIComponent));
    document.title = params.name ? `${params.name} · faasbox` : "faasbox";
    cleanup = view(main, params);
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
