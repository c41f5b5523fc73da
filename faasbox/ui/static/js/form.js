// Create or update a function. Every field is checked here first, all at once, with
// the same rules and words as the server (faasbox/deployment.py, labels.py, sizes.py),
// so one Deploy shows every problem and the first bad field gets the focus. The server
// checks again and has the last word (an image it cannot find, a name already taken):
// its message is shown next to the field it names.

import { ApiError, deploy, getFunction, info, listSecrets, update } from "./api.js";
import { formatPairs, h, parsePairs, toast } from "./dom.js";

/** The labels a user set: the API adds faas_function (the name) to every answer. */
function userLabels(labels) {
  return Object.fromEntries(Object.entries(labels ?? {}).filter(([key]) => key !== "faas_function"));
}

// Which field a server message is about, by how the message starts.
const FIELD_OF = [
  [/^(function name|function \S+ already exists)/i, "service"],
  [/^image/i, "image"],
  [/^envProcess/i, "envProcess"],
  [/^network/i, "network"],
  [/^envVars/i, "envVars"],
  [/^labels?\b/i, "labels"],
  [/^annotations?\b/i, "annotations"],
  [/^secret/i, "secrets"],
  [/^(limits|memory)/i, "memory"],
  [/^cpu/i, "cpu"],
  [/^constraints/i, "constraints"],
];

// The server's rules (faasbox/deployment.py, labels.py, sizes.py), stated up front.
const NAME_PATTERN = /^[a-zA-Z0-9](?:[-_]*[a-zA-Z0-9]+)*$/;
const NAME_MAX = 63;
const NAME_RULES = `Up to ${NAME_MAX} letters, digits, '-' and '_', starting and ending with a letter or digit.`;
const MEMORY = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?)b?$/i;
const CPU = /^(\d+(?:\.\d+)?)(m?)$/;
const SCALE_MIN = "com.openfaas.scale.min";
const SCALE_MAX = "com.openfaas.scale.max";
const SCALE_FACTOR = "com.openfaas.scale.factor";

// Fields the form does not edit but an update must keep.
const KEPT = ["requests", "readOnlyRootFilesystem"];

/** Python's repr of a string, as the server quotes names in its messages. */
function quoted(text) {
  return text.includes("'") && !text.includes('"') ? `"${text}"` : `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

function checkName(name) {
  if (!name) return "function name is required";
  if (name.length > NAME_MAX) return `function name ${quoted(name)} is longer than ${NAME_MAX} characters`;
  if (!NAME_PATTERN.test(name)) {
    return `function name ${quoted(name)} is invalid: use letters, digits, '-' and '_', starting and ending with a letter or digit`;
  }
  return null;
}

function wholeLabel(labels, key, fallback) {
  const raw = labels[key];
  if (raw == null) return [fallback, null];
  if (!/^[-+]?\d+$/.test(raw.trim())) return [null, `label ${key}=${quoted(raw)} must be a whole number`];
  const value = Number(raw);
  if (value < 0) return [null, `label ${key}=${quoted(raw)} must not be negative`];
  return [value, null];
}

function checkLabels(labels) {
  const [low, lowError] = wholeLabel(labels, SCALE_MIN, 1);
  const [high, highError] = wholeLabel(labels, SCALE_MAX, 20);
  const [factor, factorError] = wholeLabel(labels, SCALE_FACTOR, 20);
  const first = lowError ?? highError ?? factorError;
  if (first) return first;
  if (low > high) return `label ${SCALE_MIN}=${low} is above ${SCALE_MAX}=${high}`;
  if (factor > 100) return `label ${SCALE_FACTOR}=${factor} must be between 0 and 100`;
  return null;
}

function checkMemory(text) {
  const match = MEMORY.exec(text);
  if (!match) return `memory ${quoted(text)} is not a size such as 128M or 1Gi`;
  return Number(match[1]) > 0 ? null : "limits.memory must be above zero";
}

function checkCpu(text) {
  const match = CPU.exec(text);
  if (!match) return `cpu ${quoted(text)} is not a number of cores such as 0.5 or 500m`;
  return Number(match[1]) > 0 ? null : "limits.cpu must be above zero";
}

function field(name, label, control, help) {
  const id = `f-${name}`;
  control.id = id;
  control.name = name;
  const helpId = help ? `${id}-help` : null;
  const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  control.setAttribute("aria-describedby", [helpId, `${id}-error`].filter(Boolean).join(" "));
  return h("div", { class: "field", "data-field": name }, h("label", { for: id }, label), help && h("p", { class: "help", id: helpId }, help), control, error);
}

function secretChoices(available, chosen) {
  const names = [...new Set([...available, ...chosen])].sort();
  if (!names.length) {
    return h("p", { class: "help" }, "No secrets yet: create them with ", h("code", {}, "faasbox secret create"), ".");
  }
  return h(
    "div",
    { class: "choices", role: "group", "aria-label": "Secrets" },
    names.map((name) =>
      h("label", { class: "choice" }, h("input", { type: "checkbox", name: "secrets", value: name, checked: chosen.includes(name) }), name),
    ),
  );
}

/** The form view; `name` set means update that function. */
export function formView(root, { name } = {}) {
  const editing = Boolean(name);
  let left = false;
  root.append(h("h1", {}, editing ? `Update ${name}` : "New function"), h("p", { class: "muted" }, "Loading…"));

  // Secrets are only offered as choices: without the list, the form still works.
  Promise.all([
    editing ? getFunction(name) : null,
    listSecrets().catch(() => []),
    info().then((i) => i.network ?? "").catch(() => ""),
  ])
    .then(([current, secrets, network]) => build(current, secrets.map((s) => s.name), network))
    .catch((err) => [h("h1", {}, editing ? `Update ${name}` : "New function"), h("p", { class: "error", role: "alert" }, `Could not load ${name}: ${err.message}`)])
    .then((content) => {
      if (left) return;
      root.replaceChildren(...[content].flat());
      root.querySelector("h1").tabIndex = -1;
      root.querySelector("h1").focus({ preventScroll: true });
    });

  function build(current, secretNames, network) {
    const text = (attrs) => h("input", { autocomplete: "off", spellcheck: "false", ...attrs });
    const lines = (value, placeholder) => h("textarea", { rows: 3, spellcheck: "false", placeholder }, value);
    const fields = {
      image: text({ required: true, value: current?.image ?? "", placeholder: "ghcr.io/you/fn:latest" }),
      service: text({ required: true, value: name ?? "", readonly: editing, placeholder: "func_c", maxlength: NAME_MAX }),
      envProcess: text({ value: current?.envProcess ?? "", placeholder: "cat" }),
      network: text({ value: network, placeholder: "default" }),
      envVars: lines(formatPairs(current?.envVars), "KEY=value"),
      labels: lines(formatPairs(userLabels(current?.labels)), "com.openfaas.scale.min=1"),
      annotations: lines(formatPairs(current?.annotations), "topic=orders"),
      memory: text({ value: current?.limits?.memory ?? "", placeholder: "128M" }),
      cpu: text({ value: current?.limits?.cpu ?? "", placeholder: "0.5" }),
      constraints: lines((current?.constraints ?? []).join("\n"), "node.platform.arch==aarch64"),
    };
    const secrets = secretChoices(secretNames, current?.secrets ?? []);
    const summary = h("div", { class: "form-summary", role: "alert", hidden: true, tabindex: -1 });
    const general = h("p", { class: "error", hidden: true, tabindex: -1 });
    const submit = h("button", { type: "submit", class: "primary" }, editing ? "Update" : "Deploy");
    const form = h(
      "form",
      { class: "card", novalidate: true },
      summary,
      field("image", "Image", fields.image, "An image on this machine, or one the engine can pull. Required."),
      field("service", "Name", fields.service, editing ? "The name cannot change; deploy a new function for another name." : `${NAME_RULES} Required.`),
      field("envProcess", "fprocess", fields.envProcess, "The process the watchdog runs for each request (optional)."),
      field("network", "Network", fields.network, "faasbox's functions network; another one is refused."),
      field("envVars", "Environment", fields.envVars, "One KEY=value per line."),
      field("labels", "Labels", fields.labels, `One key=value per line. ${SCALE_MIN} and ${SCALE_MAX} are whole numbers, min ≤ max.`),
      field("annotations", "Annotations", fields.annotations, "One key=value per line."),
      h("div", { class: "field", "data-field": "secrets" }, h("span", { class: "label" }, "Secrets"), secrets, h("p", { class: "field-error", hidden: true })),
      h(
        "fieldset",
        { class: "limits" },
        h("legend", {}, "Limits (optional)"),
        field("memory", "Memory", fields.memory, "A size such as 128M or 1Gi."),
        field("cpu", "CPU", fields.cpu, "Cores such as 0.5, or millicores such as 500m."),
      ),
      field("constraints", "Constraints", fields.constraints, "Swarm placement constraints, one per line."),
      general,
      h("div", { class: "actions" }, submit, h("a", { class: "button", href: editing ? `#/fn/${encodeURIComponent(name)}` : "#/" }, "Cancel")),
    );

    function showError(key, message) {
      const wrapper = key && form.querySelector(`[data-field="${key}"]`);
      const target = wrapper ? wrapper.querySelector(".field-error") : general;
      wrapper?.classList.add("invalid");
      wrapper?.querySelector("input, textarea")?.setAttribute("aria-invalid", "true");
      target.textContent = message;
      target.hidden = false;
      return wrapper?.querySelector("input:not([readonly]), textarea") ?? wrapper?.querySelector("input") ?? null;
    }

    function clearErrors() {
      summary.hidden = true;
      for (const el of form.querySelectorAll(".field-error, form > .error")) el.hidden = true;
      for (const el of form.querySelectorAll(".invalid")) el.classList.remove("invalid");
      for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    }

    /** [body, errors]: every field checked, in the order the form shows them. */
    function read() {
      const errors = [];
      const value = (key) => fields[key].value.trim();
      const body = {
        ...Object.fromEntries(KEPT.filter((k) => current?.[k] != null).map((k) => [k, current[k]])),
        service: value("service"),
        image: value("image"),
        envProcess: value("envProcess"),
        secrets: [...form.querySelectorAll('input[name="secrets"]:checked')].map((c) => c.value),
        constraints: fields.constraints.value.split("\n").map((c) => c.trim()).filter(Boolean),
      };
      if (!body.image) errors.push(["image", "image is required"]);
      const nameError = checkName(body.service);
      if (nameError) errors.push(["service", nameError]);
      if (value("network")) body.network = value("network");
      for (const key of ["envVars", "labels", "annotations"]) {
        try {
          body[key] = parsePairs(fields[key].value);
        } catch (err) {
          errors.push([key, err.message]);
        }
      }
      if (body.labels) {
        const labelError = checkLabels(body.labels);
        if (labelError) errors.push(["labels", labelError]);
      }
      const limits = {};
      if (value("memory")) {
        limits.memory = value("memory");
        const error = checkMemory(limits.memory);
        if (error) errors.push(["memory", error]);
      }
      if (value("cpu")) {
        limits.cpu = value("cpu");
        const error = checkCpu(limits.cpu);
        if (error) errors.push(["cpu", error]);
      }
      if (Object.keys(limits).length) body.limits = limits;
      return [body, errors];
    }

    function report(errors) {
      const focus = errors.map(([key, message]) => showError(key, message)).find(Boolean);
      if (errors.length > 1) {
        const labelOf = (key) => form.querySelector(`[data-field="${key}"] label, [data-field="${key}"] .label`)?.textContent ?? "";
        summary.replaceChildren(
          h("p", {}, `${errors.length} fields need a change:`),
          h("ul", {}, errors.map(([key, message]) => h("li", {}, `${labelOf(key)}: ${message}`))),
        );
        summary.hidden = false;
      }
      (focus ?? (errors.length > 1 ? summary : general)).focus();
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors();
      const [body, errors] = read();
      if (errors.length) {
        report(errors);
        return;
      }
      submit.disabled = true;
      try {
        await (editing ? update : deploy)(body);
        toast(editing ? `Updated ${body.service}` : `Deployed ${body.service}`);
        location.hash = `#/fn/${encodeURIComponent(body.service)}`;
      } catch (err) {
        const key = err instanceof ApiError ? FIELD_OF.find(([re]) => re.test(err.message))?.[1] : null;
        report([[key ?? null, err.message]]);
      } finally {
        submit.disabled = false;
      }
    });

    return [h("h1", {}, editing ? `Update ${name}` : "New function"), form];
  }

  return () => {
    left = true;
  };
}
