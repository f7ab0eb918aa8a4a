import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { freePort } from "../src/database/free-port";

/** A private redis-server on a free loopback port, no persistence: benchmarks never touch the shared one. */
export interface PrivateRedis {
  port: number;
  stop(): Promise<void>;
}


export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-bench-redis-"));
  const child: ChildProcess = spawn("redis-server", [
    "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir,
    "--maxmemory", "0", "--loglevel", "warning",
  ], { stdio: "ignore" });
  const failed = new Promise<never>((_, reject) => {
    child.once("error", (err) => reject(new Error(`cannot start redis-server (${err.message}); install it: apt-get install redis-server`)));
  });
  const up = (async () => {
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, "127.0.0.1", () => { s.end(); resolve(true); });
        s.once("error", () => resolve(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not listen on 127.0.0.1:${port}`);
  })();
  await Promise.race([up, failed]);
  return {
    port,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
