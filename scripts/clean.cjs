// Removes a build output folder, so files of modules that moved or were deleted never linger in it.
const fs = require("fs");
const path = require("path");
const dir = process.argv[2];
if (!dir || !["dist", "build"].includes(dir)) throw new Error("usage: node scripts/clean.cjs dist|build");
fs.rmSync(path.join(__dirname, "..", dir), { recursive: true, force: true });
