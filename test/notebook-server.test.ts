import { spawn } from "child_process";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { freePort } from "../src/database/free-port";
import { until } from "./helpers";

// `npm run notebook` as the README says, as the user this machine kind runs as (root): Jupyter must start and answer.
describe("npm run notebook", () => {
  it("starts Jupyter (as root too) and it answers on 127.0.0.1 with the tslab kernel registered", async () => {
    const port = await freePort();
    const token = `t${Math.random().toString(36).slice(2)}`;
    const child = spawn("npm", ["run", "notebook", "--", `--port=${port}`, `--NotebookApp.token=${token}`], {
      cwd: path.join(__dirname, ".."), detached: true, stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    child.stdout.on("data", (d) => (log += String(d)));
    child.stderr.on("data", (d) => (log += String(d)));
    try {
      const specs = await until(`Jupyter to answer on port ${port} (log: ${log.slice(-2000)})`, async () => {
        if (child.exitCode !== null) throw new Error(`npm run notebook exited with ${child.exitCode}: ${log.slice(-2000)}`);
        try {
          const r = await fetch(`http://127.0.0.1:${port}/api/kernelspecs?token=${token}`);
          return r.ok ? ((await r.json()) as { kernelspecs: Record<string, unknown> }) : undefined;
        } catch {
          return undefined;
        }
      }, 120_000, 250);
      expect(Object.keys(specs.kernelspecs)).toContain("tslab");
    } finally {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        // already gone
      }
    }
  }, 180_000);
});
