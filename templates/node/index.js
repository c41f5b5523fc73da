// Fork-mode entry point: the watchdog runs this once per request, body on stdin.
const handler = require("./function/handler");

const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", async () => {
  try {
    const result = await handler(Buffer.concat(chunks).toString());
    if (result !== undefined) process.stdout.write(String(result));
  } catch (err) {
    process.stderr.write(String((err && err.stack) || err) + "\n");
    process.exit(1);
  }
});
