// Create or update a function. Every check that matters is the server's: its
// message is shown next to the field it names, so the portal, `faasbox deploy` and
// faas-cli are refused the same inputs with the same words.

import { ApiError, deploy, getFunction, info, listSecrets, update } from "./api.js";
import { formatPairs, h, parsePairs } from "./dom.js";

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
  [/^secret/i, "secrets"],
];

// Fields the form does not edit but an update must keep.
const KEPT = ["annotations", "constraints", "limits", "requests", "readOnlyRootFilesystem"];

function field(name, label, control, help) {
  const id = `f-${name}`;
  control.id = id;
  control.name = name;
  const error = h("p", { class: "field-error", id: `${id}-error`, role: "alert", hidden: true });
  control.setAttribute("aria-describedby", `${id}-error`);
  return h("div", { class: "field", "data-field": name }, h("label", { for: id }, label), control, help && h("p", { class: "help" }, help), error);
}

function secretChoices(available, chosen) {
  const names = [...new Set([...available, ...chosen])].sort();
  if (!names.length) {
    return h("p", { class: "help" }, "No secrets yet: create them with `faasbox secret create`.");
  }
  return h(
    "div",
    { class: "choices", role: "group" },
    names.map((name) =>
      h("label", { class: "choice" }, h("input", { type: "checkbox", name: "secrets", value: name, checked: chosen.includes(name) }), name),
    ),
  );
}

/** The form view; `name` set means update that function. */
export function formView(root, { name } = {}) {
  const editing = Boolean(name);
  let left = false;
  root.append(h("p", { class: "muted" }, "Loading…"));

  // Secrets are only offered as choices: without the list, the form still works.
  Promise.all([
    editing ? getFunction(name) : null,
    listSecrets().catch(() => []),
    info().then((i) => i.network ?? "").catch(() => ""),
  ])
    .then(([current, secrets, network]) => build(current, secrets.map((s) => s.name), network))
    .catch((err) => h("p", { class: "error" }, `Could not load ${name}: ${err.message}`))
    .then((content) => left || root.replaceChildren(content));

  function build(current, secretNames, network) {
    const fields = {
      image: h("input", { required: true, autocomplete: "off", spellcheck: "false", value: current?.image ?? "", placeholder: "ghcr.io/you/fn:latest" }),
      service: h("input", { required: true, autocomplete: "off", spellcheck: "false", value: name ?? "", readonly: editing, placeholder: "func_c" }),
      envProcess: h("input", { autocomplete: "off", spellcheck: "false", value: current?.envProcess ?? "", placeholder: "cat" }),
      network: h("input", { autocomplete: "off", spellcheck: "false", value: network, placeholder: "default" }),
      envVars: h("textarea", { rows: 3, spellcheck: "false", placeholder: "KEY=value" }, formatPairs(current?.envVars)),
      labels: h("textarea", { rows: 3, spellcheck: "false", placeholder: "com.openfaas.scale.min=1" }, formatPairs(userLabels(current?.labels))),
    };
    const secrets = secretChoices(secretNames, current?.secrets ?? []);
    const general = h("p", { class: "error", role: "alert", hidden: true });
    const submit = h("button", { type: "submit", class: "primary" }, editing ? "Update" : "Deploy");
    const form = h(
      "form",
      { class: "card", novalidate: true },
      field("image", "Image", fields.image, "An image on this machine, or one the engine can pull."),
      field("service", "Name", fields.service),
      field("envProcess", "fprocess", fields.envProcess, "The process the watchdog runs for each request (optional)."),
      field("network", "Network", fields.network, "faasbox's functions network; another one is refused."),
      field("envVars", "Environment", fields.envVars, "One KEY=value per line."),
      field("labels", "Labels", fields.labels, "One key=value per line."),
      h("div", { class: "field", "data-field": "secrets" }, h("span", { class: "label" }, "Secrets"), secrets, h("p", { class: "field-error", role: "alert", hidden: true })),
      general,
      h("div", { class: "actions" }, submit, h("a", { class: "button", href: editing ? `#/fn/${encodeURIComponent(name)}` : "#/" }, "Cancel")),
    );

    function showError(key, message) {
      const wrapper = key && form.querySelector(`[data-field="${key}"]`);
      const target = wrapper ? wrapper.querySelector(".field-error") : general;
      wrapper?.classList.add("invalid");
      target.textContent = message;
      target.hidden = false;
    }

    function clearErrors() {
      for (const el of form.querySelectorAll(".field-error, form > .error")) el.hidden = true;
      for (const el of form.querySelectorAll(".invalid")) el.classList.remove("invalid");
    }

    function spec() {
      const out = {
        ...Object.fromEntries(KEPT.filter((k) => current?.[k] != null).map((k) => [k, current[k]])),
        service: fields.service.value.trim(),
        image: fields.image.value.trim(),
        envProcess: fields.envProcess.value.trim(),
        secrets: [...form.querySelectorAll('input[name="secrets"]:checked')].map((c) => c.value),
      };
      if (fields.network.value.trim()) out.network = fields.network.value.trim();
      for (const key of ["envVars", "labels"]) {
        try {
          out[key] = parsePairs(fields[key].value);
        } catch (err) {
          throw new FieldError(key, err.message);
        }
      }
      return out;
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors();
      submit.disabled = true;
      try {
        const body = spec();
        await (editing ? update : deploy)(body);
        location.hash = `#/fn/${encodeURIComponent(body.service)}`;
      } catch (err) {
        if (err instanceof FieldError) showError(err.field, err.message);
        else if (err instanceof ApiError) showError(FIELD_OF.find(([re]) => re.test(err.message))?.[1], err.message);
        else showError(null, err.message);
      } finally {
        submit.disabled = false;
      }
    });

    return h("div", {}, h("h1", {}, editing ? `Update ${name}` : "New function"), form);
  }

  return () => {
    left = true;
  };
}

class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}
