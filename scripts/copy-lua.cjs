// Copies the Lua transition scripts (and their includes) next to the compiled JS, so dist/ is self-contained.
const fs = require("fs");
const path = require("path");
const root = path.join(__dirname, "..");
fs.rmSync(path.join(root, "dist", "commands"), { recursive: true, force: true });
fs.cpSync(path.join(root, "src", "commands"), path.join(root, "dist", "commands"), { recursive: true });
for (const bin of ["worker.js", "sentinel.js"]) {
  const p = path.join(root, "dist", "bin", bin);
  if (fs.existsSync(p)) fs.chmodSync(p, 0o755);
}
