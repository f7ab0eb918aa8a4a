// Copies the Lua transition scripts (and their includes) next to the compiled JS, so dist/ (and the
// development build in build/) are self-contained.
const fs = require("fs");
const path = require("path");
const root = path.join(__dirname, "..");
const from = path.join(root, "src", "queue", "commands");
for (const out of [path.join(root, "dist", "queue", "commands"), path.join(root, "build", "src", "queue", "commands")]) {
  if (!fs.existsSync(path.dirname(out))) continue;
  fs.rmSync(out, { recursive: true, force: true });
  fs.cpSync(from, out, { recursive: true });
}
for (const bin of ["worker.js", "sentinel.js"]) {
  const p = path.join(root, "dist", "bin", bin);
  if (fs.existsSync(p)) fs.chmodSync(p, 0o755);
}
