// Small DOM helpers shared by the views: element building, timers that pause while
// the tab is hidden, and formatting.

/** h("a", {href: "#/", class: "x", onclick: fn}, "text", child) -> HTMLAnchorElement */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  el.append(...children.flat(Infinity).filter((c) => c != null && c !== false));
  return el;
}

/**
 * Call `fn` now and then every `ms` while the page is visible; returns a stop function.
 * A hidden tab gets no calls; the first call happens as soon as it is visible again.
 */
export function every(ms, fn) {
  let timer = 0;
  let busy = false;
  let stopped = false;
  async function tick() {
    clearTimeout(timer);
    if (stopped || busy || document.hidden) return;
    busy = true;
    try {
      await fn();
    } catch (err) {
      console.error(err);
    } finally {
      busy = false;
    }
    if (!stopped) timer = setTimeout(tick, ms);
  }
  document.addEventListener("visibilitychange", tick);
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", tick);
  };
}

/** "KEY=value" lines -> {KEY: "value"}; throws Error naming the first bad line. */
export function parsePairs(text, separator = "=") {
  const out = {};
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const at = line.indexOf(separator);
    if (at <= 0) throw new Error(`line ${i + 1}: expected name${separator}value`);
    out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  });
  return out;
}

export function formatPairs(map, separator = "=") {
  return Object.entries(map ?? {}).map(([k, v]) => `${k}${separator}${v}`).join("\n");
}

export function time(date) {
  return date.toLocaleTimeString([], { hour12: false });
}

export function count(n) {
  return Number(n ?? 0).toLocaleString();
}

/** "1 function", "3 functions". */
export function plural(n, word) {
  return `${count(n)} ${word}${n === 1 ? "" : "s"}`;
}

/** A short message in the corner (the page's one live region); gone after a few seconds. */
export function toast(message, kind = "ok") {
  const area = document.getElementById("toasts");
  const note = h("p", { class: `toast ${kind}` }, message);
  area.append(note);
  setTimeout(() => note.remove(), 5000);
}

/**
 * Put `text` on the clipboard. The Clipboard API exists only on https or localhost;
 * a portal opened as http://pi:8080 falls back to a selected hidden text area.
 */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = h("textarea", { class: "offscreen", readonly: true });
  area.value = text;
  document.body.append(area);
  area.select();
  const done = document.execCommand("copy");
  area.remove();
  if (!done) throw new Error("the browser refused to copy");
}

/** A button that copies what `text()` returns and says so ("<what> copied"). */
export function copyButton(label, what, text) {
  const button = h("button", { type: "button", class: "small" }, label);
  button.addEventListener("click", async () => {
    try {
      await copyText(text());
      toast(`${what} copied`);
    } catch (err) {
      toast(`Could not copy: ${err.message}`, "bad");
    }
  });
  return button;
}
