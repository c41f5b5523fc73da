// Recent logs of a function, followed while the page is open, in time order: each
// line is put in its place by timestamp (faasbox already orders what it sends; this
// also orders across reconnects). Search, pause and download work on the lines kept.
// The stream is reopened from the last line seen if the server ends it, and stopped
// for good when the function does not exist.

import { ApiError, streamLogs } from "./api.js";
import { h, time } from "./dom.js";

const TAIL = 100;
const KEEP = 500;
const RETRY_MS = 2000;
// The watchdog and many programs start each line with their own time: shown once.
const OWN_TIME = /^\d{4}[-/]\d\d[-/]\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\s+/;

/** A key that sorts as time does (RFC 3339 with 0 to 9 fraction digits). */
export function orderKey(timestamp) {
  const [whole, rest = ""] = timestamp.replace(/Z$/, "").split(".");
  return `${whole}.${rest.padEnd(9, "0")}`;
}

export function logsPanel(name) {
  // role=log would announce every line as it comes; the status line says what matters.
  const lines = h("div", { class: "logs mono", role: "log", "aria-label": "Logs", "aria-live": "off", tabindex: 0 });
  const status = h("span", { class: "muted", "data-testid": "logs-status" }, "connecting…");
  const search = h("input", { id: "logs-search", type: "search", placeholder: "text or task", autocomplete: "off" });
  const pause = h("button", { type: "button", "aria-pressed": "false" }, "Pause");
  const download = h("button", { type: "button" }, "Download");
  const controller = new AbortController();
  const kept = []; // {key, record, el}, in time order
  const seen = new Set();
  let since = "";
  let paused = false;
  let waiting = 0;

  function matches(record) {
    const words = search.value.trim().toLowerCase();
    return !words || `${record.instance} ${record.text}`.toLowerCase().includes(words);
  }

  function element(record) {
    const at = new Date(record.timestamp);
    return h(
      "div",
      { class: "line", hidden: !matches(record) },
      h("time", { datetime: record.timestamp, title: record.timestamp }, Number.isNaN(at.getTime()) ? "" : time(at)),
      h("span", { class: "instance", title: `task ${record.instance}` }, record.instance.slice(0, 6)),
      h("span", { class: "text" }, record.text.replace(OWN_TIME, "")),
    );
  }

  function add(record) {
    const id = `${record.timestamp} ${record.instance} ${record.text}`;
    if (seen.has(id)) return;
    seen.add(id);
    const key = orderKey(record.timestamp);
    if (key > orderKey(since || "0")) since = record.timestamp;
    let at = kept.length;
    while (at > 0 && kept[at - 1].key > key) at -= 1;
    const entry = { key, id, record, el: element(record) };
    kept.splice(at, 0, entry);
    const atBottom = lines.scrollHeight - lines.scrollTop - lines.clientHeight < 8;
    if (paused) {
      waiting += 1;
      status.textContent = `paused, ${waiting} new`;
    } else {
      lines.insertBefore(entry.el, kept[at + 1]?.el ?? null);
    }
    while (kept.length > KEEP) {
      const oldest = kept.shift();
      seen.delete(oldest.id);
      oldest.el.remove();
    }
    if (atBottom && !paused) lines.scrollTop = lines.scrollHeight;
  }

  search.addEventListener("input", () => {
    for (const { record, el } of kept) el.hidden = !matches(record);
  });
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    pause.setAttribute("aria-pressed", String(paused));
    if (paused) {
      status.textContent = "paused";
      return;
    }
    lines.replaceChildren(...kept.map((k) => k.el));
    waiting = 0;
    status.textContent = "following";
    lines.scrollTop = lines.scrollHeight;
  });
  download.addEventListener("click", () => {
    const text = kept.map(({ record }) => `${record.timestamp} ${record.instance} ${record.text}\n`).join("");
    const link = h("a", { href: URL.createObjectURL(new Blob([text], { type: "text/plain" })), download: `${name}-logs.txt` });
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  });

  async function follow() {
    while (!controller.signal.aborted) {
      const params = since ? { name, follow: "true", since } : { name, follow: "true", tail: TAIL };
      try {
        if (!paused) status.textContent = "following";
        await streamLogs(params, controller.signal, add);
        if (!paused) status.textContent = "stream ended, reconnecting…";
      } catch (err) {
        if (controller.signal.aborted) return;
        if (err instanceof ApiError && err.status === 404) {
          status.textContent = `no logs: ${err.message}`;
          return;
        }
        status.textContent = `logs unavailable: ${err.message}; retrying…`;
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }

  follow();
  const panel = h(
    "section",
    { class: "card" },
    h("div", { class: "heading" }, h("h2", {}, "Logs"), status),
    h("div", { class: "row logs-tools" }, h("label", { for: "logs-search" }, "Search"), search, pause, download),
    lines,
  );
  return { panel, stop: () => controller.abort() };
}
