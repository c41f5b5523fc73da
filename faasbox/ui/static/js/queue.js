// One function's async queue: how many calls are queued, in flight and dead, and the
// dead letters with Replay and Drop. Reads faasbox's /system/async/<name> extension.

import { ApiError, messageOf } from "./api.js";
import { count, h, time } from "./dom.js";

const LIMIT = 20;

// State-changing /system calls say they are JSON (the server's cross-site guard).
async function call(method, path) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers });
  if (!response.ok) throw new ApiError(response.status, await messageOf(response));
  return response;
}

const base = (name) => `/system/async/${encodeURIComponent(name)}`;
const one = (name, id) => `${base(name)}/${encodeURIComponent(id)}`;

export function queuePanel(name) {
  const numbers = h("p", { class: "big", "data-testid": "queue-counts" });
  const dead = h("div");
  const message = h("p", { class: "muted", role: "status" });

  async function act(label, method, path) {
    try {
      await call(method, path);
      message.textContent = label;
      message.classList.remove("error");
    } catch (err) {
      message.textContent = err.message;
      message.classList.add("error");
    }
    await refresh();
  }

  function row(entry) {
    const when = entry.deadAt ? time(new Date(entry.deadAt * 1000)) : "";
    return h(
      "li",
      { class: "mono" },
      `${entry.callId} · ${entry.status || "no answer"} after ${entry.deliveries} · ${when} `,
      h("button", { type: "button", onclick: () => act(`Replayed ${entry.callId}`, "POST", `${one(name, entry.callId)}/replay`) }, "Replay"),
      " ",
      h("button", { type: "button", class: "danger", onclick: () => act(`Dropped ${entry.callId}`, "DELETE", one(name, entry.callId)) }, "Drop"),
    );
  }

  async function refresh() {
    const view = await (await call("GET", `${base(name)}?limit=${LIMIT}`)).json();
    numbers.textContent = `${count(view.queued)} queued · ${count(view.inflight)} in flight · ${count(view.dead)} dead`;
    const letters = view.calls.filter((c) => c.state === "dead");
    dead.replaceChildren(
      letters.length
        ? h("ul", { "data-testid": "dead-letters" }, letters.map(row))
        : h("p", { class: "muted" }, "No dead letters."),
    );
  }

  const card = h(
    "section",
    { class: "card" },
    h("h2", {}, "Async queue"),
    numbers,
    dead,
    message,
    h("p", { class: "help" }, `Calls to /async-function/${name}; the first ${LIMIT} dead letters.`),
  );
  return { card, refresh };
}
