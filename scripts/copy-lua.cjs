// Copies the Lua transition scripts next to the compiled JS, so dist/ is self-contained.
const fs = require("fs");
const path = require("path");
const from = path.join(__dirname, "..", "src", "commands");
const to = path.join(__dirname, "..", "dist", "commands");
fs.mkdirSync(to, { recursive: true });
for (const f of fs.readdirSync(from)) if (f.endsWith(".lua")) fs.copyFileSync(path.join(from, f), path.join(to, f));
for (const bin of ["worker.js", "sentinel.js"]) {
  const p = path.join(__dirname, "..", "dist", "bin", bin);
  if (fs.existsSync(p)) fs.chmodSync(p, 0o755);
}
