// Invoke a function through /function/<name> (open, as in OpenFaaS) and show what
// came back: status, duration, response headers and body.

import { h, parsePairs } from "./dom.js";

const METHODS = ["POST", "GET", "PUT", "PATCH", "DELETE"];

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return null;
  }
}

function requestHeaders(text) {
  try {
    return parsePairs(text, ":");
  } catch (err) {
    throw new Error(`Request headers, ${err.message}`);
  }
}

/** A checkbox that shows `body` pretty-printed or as it came. */
function prettyToggle(body, raw, formatted) {
  const box = h("input", { type: "checkbox", checked: true });
  box.addEventListener("change", () => {
    body.textContent = box.checked ? formatted : raw;
  });
  return h("label", { class: "choice" }, box, "Pretty JSON");
}

function result(response, text, millis) {
  const formatted = pretty(text);
  const body = h("pre", { class: "body", "aria-label": "Response body" }, formatted ?? text);
  const served = response.headers.get("X-Duration-Seconds");
  const headers = [...response.headers].map(([k, v]) => h("div", {}, h("span", { class: "key" }, k), ": ", v));
  return h(
    "div",
    { class: "result" },
    h(
      "p",
      { class: "summary", role: "status" },
      h("span", { class: `status s${String(response.status)[0]}`, "data-testid": "invoke-status" }, `${response.status} ${response.statusText}`),
      h("span", { "data-testid": "invoke-duration" }, `${millis.toFixed(1)} ms`),
      served && h("span", { class: "muted" }, `function: ${(Number(served) * 1000).toFixed(1)} ms`),
      formatted != null && prettyToggle(body, text, formatted),
    ),
    h("details", {}, h("summary", {}, `Response headers (${headers.length})`), h("div", { class: "mono headers" }, headers)),
    body,
  );
}

function labelled(id, text, control) {
  return h("div", { class: "control" }, h("label", { for: id }, text), control);
}

export function invokePanel(name) {
  const method = h("select", { id: "invoke-method" }, METHODS.map((m) => h("option", {}, m)));
  const path = h("input", { id: "invoke-path", placeholder: "/path?query", spellcheck: "false", autocomplete: "off" });
  const kind = h("select", { id: "invoke-kind" }, h("option", { value: "text" }, "Text"), h("option", { value: "json" }, "JSON"));
  const headers = h("textarea", { id: "invoke-headers", rows: 2, spellcheck: "false", placeholder: "X-Header: value" });
  const body = h("textarea", { id: "invoke-body", rows: 5, spellcheck: "false", placeholder: "Request body", "aria-describedby": "invoke-body-note" });
  const bodyNote = h("p", { class: "help", id: "invoke-body-note", hidden: true }, "GET sends no body: the text above is kept for another method.");
  const format = h("button", { type: "button" }, "Format JSON");
  format.addEventListener("click", () => {
    body.value = pretty(body.value) ?? body.value;
  });
  const send = h("button", { type: "submit", class: "primary" }, "Invoke");
  const output = h("div");

  const sync = () => {
    const noBody = method.value === "GET";
    body.disabled = noBody;
    kind.disabled = noBody;
    bodyNote.hidden = !noBody;
    format.hidden = noBody || kind.value !== "json";
  };
  method.addEventListener("change", sync);
  kind.addEventListener("change", sync);
  sync();

  async function invoke(event) {
    event.preventDefault();
    send.disabled = true;
    try {
      // credentials: "omit": the admin's basic-auth credentials never reach a function.
      const init = {
        method: method.value,
        headers: new Headers(requestHeaders(headers.value)),
        credentials: "omit",
      };
      if (method.value !== "GET") {
        if (kind.value === "json" && pretty(body.value || "null") == null) {
          throw new Error("The body is not valid JSON.");
        }
        if (!init.headers.has("Content-Type")) {
          init.headers.set("Content-Type", kind.value === "json" ? "application/json" : "text/plain");
        }
        init.body = body.value;
      }
      const suffix = path.value.trim();
      const joiner = suffix && !/^[/?]/.test(suffix) ? "/" : "";
      const url = `/function/${encodeURIComponent(name)}${joiner}${suffix}`;
      const start = performance.now();
      const response = await fetch(url, init);
      const text = await response.text();
      output.replaceChildren(result(response, text, performance.now() - start));
    } catch (err) {
      output.replaceChildren(h("p", { class: "error", role: "alert" }, err.message));
    } finally {
      send.disabled = false;
    }
  }

  return h(
    "form",
    { class: "card invoke", onsubmit: invoke },
    h("h2", {}, "Invoke"),
    h("div", { class: "row" }, labelled("invoke-method", "Method", method), h("div", { class: "control grow" }, h("label", { for: "invoke-path" }, "Path and query"), h("div", { class: "joined" }, h("span", { class: "mono muted path" }, `/function/${name}`), path))),
    labelled("invoke-headers", "Request headers", headers),
    h("div", { class: "row" }, labelled("invoke-kind", "Body type", kind), format),
    labelled("invoke-body", "Request body", body),
    bodyNote,
    h("div", { class: "actions" }, send),
    output,
  );
}
