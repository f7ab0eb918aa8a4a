// Copies the non-TypeScript files the library reads at run time (the Lua transition scripts and their
// includes; the ISIS control-network .proto files) next to the compiled JS, so dist/ (and the development
// build in build/) are self-contained.
const fs = require("fs");
const path = require("path");
const root = path.join(__dirname, "..");
const ASSETS = [path.join("queue", "commands"), path.join("controlnet", "proto")];
for (const out of [path.join(root, "dist"), path.join(root, "build", "src")]) {
  if (!fs.existsSync(out)) continue;
  for (const asset of ASSETS) {
    const from = path.join(root, "src", asset);
    if (!fs.existsSync(from)) continue;
    fs.rmSync(path.join(out, asset), { recursive: true, force: true });
    fs.cpSync(from, path.join(out, asset), { recursive: true });
  }
}
for (const bin of ["worker.js", "sentinel.js"]) {
  const p = path.join(root, "dist", "bin", bin);
  if (fs.existsSync(p)) fs.chmodSync(p, 0o755);
}
