// The /system API, exactly as the CLI uses it. The browser adds the basic-auth
// credentials it was given at the login prompt; the server checks every call.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The server's `{"message": ...}`, or the body text, or the status text. */
export async function messageOf(response) {
  const text = await response.text();
  try {
    return JSON.parse(text).message ?? text;
  } catch {
    return text.trim() || `${response.status} ${response.statusText}`;
  }
}

async function call(method, path, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw new ApiError(response.status, await messageOf(response));
  return response;
}

const json = (response) => response.json();
const fn = (name) => encodeURIComponent(name);

export const info = () => call("GET", "/system/info").then(json);
export const listFunctions = () => call("GET", "/system/functions").then(json);
export const getFunction = (name) => call("GET", `/system/function/${fn(name)}`).then(json);
export const store = () => call("GET", "/system/store").then(json);
export const listSecrets = () => call("GET", "/system/secrets").then(json);
export const deploy = (spec) => call("POST", "/system/functions", spec);
export const update = (spec) => call("PUT", "/system/functions", spec);
export const remove = (name) => call("DELETE", "/system/functions", { functionName: name });
export const scale = (name, replicas) =>
  call("POST", `/system/scale-function/${fn(name)}`, { serviceName: name, replicas });

/**
 * Stream `/system/logs` as records {name, instance, timestamp, text} until the server
 * ends it or `signal` aborts; resolves when the stream ends.
 */
export async function streamLogs(params, signal, onRecord) {
  const query = new URLSearchParams(params);
  const response = await fetch(`/system/logs?${query}`, { signal });
  if (!response.ok) throw new ApiError(response.status, await messageOf(response));
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const lines = (pending + value).split("\n");
    pending = lines.pop();
    for (const line of lines) if (line.trim()) onRecord(JSON.parse(line));
  }
}
