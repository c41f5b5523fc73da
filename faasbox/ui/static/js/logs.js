// Recent logs of a function, followed while the page is open. The stream is
// reopened (from the last line seen) if the server ends it, and aborted on leave.

import { streamLogs } from "./api.js";
import { h } from "./dom.js";

const TAIL = 100;
const KEEP = 500;
const RETRY_MS = 2000;

export function logsPanel(name) {
  const lines = h("div", { class: "logs mono", role: "log", "aria-label": "Logs", tabindex: 0 });
  const status = h("span", { class: "muted", role: "status" }, "connecting…");
  const controller = new AbortController();
  const seen = new Set();
  let since = "";

  function add(record) {
    const key = `${record.timestamp} ${record.instance} ${record.text}`;
    if (seen.has(key)) return;
    seen.add(key);
    since = record.timestamp;
    const atBottom = lines.scrollHeight - lines.scrollTop - lines.clientHeight < 8;
    const at = new Date(record.timestamp);
    lines.append(
      h(
        "div",
        { class: "line", "data-key": key },
        h("time", { datetime: record.timestamp }, Number.isNaN(at.getTime()) ? "" : at.toLocaleTimeString([], { hour12: false })),
        h("span", { class: "instance", title: record.instance }, record.instance.slice(0, 6)),
        h("span", { class: "text" }, record.text),
      ),
    );
    while (lines.childElementCount > KEEP) {
      seen.delete(lines.firstElementChild.dataset.key);
      lines.firstElementChild.remove();
    }
    if (atBottom) lines.scrollTop = lines.scrollHeight;
  }

  async function follow() {
    while (!controller.signal.aborted) {
      const params = since ? { name, follow: "true", since } : { name, follow: "true", tail: TAIL };
      try {
        status.textContent = "following";
        await streamLogs(params, controller.signal, add);
        status.textContent = "stream ended, reconnecting…";
      } catch (err) {
        if (controller.signal.aborted) return;
        status.textContent = `logs unavailable: ${err.message}; retrying…`;
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }

  follow();
  const panel = h("section", { class: "card" }, h("div", { class: "heading" }, h("h2", {}, "Logs"), status), lines);
  return { panel, stop: () => controller.abort() };
}
