import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalCluster } from "../src/cluster/local";
import type { QueueConnection } from "../src/worker/connection";
import { readLineage } from "../src/queue/lineage";
import { Sentinel } from "../src/campaign/sentinel";
import { openTest, recorded, until } from "./helpers";

let conn: QueueConnection;
let cluster: LocalCluster;
beforeEach(async () => {
  conn = await openTest({ cluster: { heartbeat: 0.5, sentinel_interval: 0.1 } });
});
afterEach(async () => {
  await cluster?.close();
  await conn.close();
});

describe("LocalCluster: real worker processes", () => {
  it("runs 50 jobs on 4 processes, each exactly once, and every process exits when the queue is empty", async () => {
    const key = `${conn.config.redis.basename}:out`;
    const targets = Array.from({ length: 50 }, (_, i) => [i, i + 1] as [number, number]);
    const sub = await conn.queues.submit("record", targets, { kwargs: { key } });
    cluster = new LocalCluster({ concurrency: 4, workerArgs: ["--idle", "0.5"] });
    const s = await cluster.submit({ count: 50, configPath: conn.config.source!, walltime: 60 });
    expect(s.count).toBe(4);
    await cluster.wait(s.id, 30_000);
    const jobs = await cluster.jobs(s.id);
    expect(jobs.map((j) => j.state)).toEqual(["completed", "completed", "completed", "completed"]);
    const ids = (await recorded(conn, key)).map((r) => JSON.stringify(r.id));
    expect(ids).toHaveLength(50);
    expect(new Set(ids).size).toBe(50);
    expect(await conn.queues.progress(sub.applyId)).toMatchObject({ total: 50, completed: 50, dead: 0 });
    expect(await conn.queues.lengths()).toMatchObject({ processing: 0, working: 0, completed: 50 });
    for (let i = 0; i < 50; i++) {
      const claim = (await readLineage(conn.queues, sub.jobId(i))).events.find((e) => e.e === "claimed")!;
      expect(claim.task).toMatch(/^local-1_[1-4]$/);
    }
  });

  it("--once mode: one process per message, like SLURM array tasks", async () => {
    const sub = await conn.queues.submit("record", [1, 2, 3]);
    cluster = new LocalCluster({ concurrency: 2 });
    const s = await cluster.submit({ count: 3, configPath: conn.config.source!, walltime: 60, mode: "once" });
    await cluster.wait(s.id, 30_000);
    expect((await cluster.jobs(s.id)).map((j) => j.state)).toEqual(["completed", "completed", "completed"]);
    expect(await conn.queues.progress(sub.applyId)).toMatchObject({ completed: 3 });
  });

  it("SIGTERM (cancel) of a worker mid-job: it requeues its job itself at once; nothing is lost", async () => {
    const key = `${conn.config.redis.basename}:out`;
    const sub = await conn.queues.submit("hold", [42], { walltime: 600, kwargs: { key, seconds: 60 } });
    cluster = new LocalCluster({ concurrency: 1, workerArgs: ["--idle", "30"] });
    const s = await cluster.submit({ count: 1, configPath: conn.config.source!, walltime: 600 });
    await until("the job to start", async () => (await recorded(conn, key)).some((r) => r.phase === "started"));
    await cluster.cancel(s.id);
    await cluster.wait(s.id, 15_000);
    expect((await cluster.jobs(s.id))[0]).toMatchObject({ state: "cancelled", exitCode: 143 });
    // no sentinel is running: the worker itself moved the job on
    const lineage = await readLineage(conn.queues, sub.jobId(0));
    expect(lineage.events.find((e) => e.e === "requeued")).toMatchObject({ cause: "terminated", a: 1 });
    expect(await conn.queues.lengths()).toMatchObject({ processing: 1, working: 0 });
    // and the retry (re-parameterised to finish at once) completes on a new worker
    const sentinel = new Sentinel(conn.queues, conn.registry, { log: () => {} }).start();
    try {
      const again = await cluster.submit({ count: 1, configPath: conn.config.source!, walltime: 600 });
      await until("completion", async () => (await conn.queues.progress(sub.applyId)).completed === 1);
      await cluster.cancel(again.id);
    } finally {
      await sentinel.stop();
    }
    expect((await readLineage(conn.queues, sub.jobId(0))).events.filter((e) => e.e === "completed")).toHaveLength(1);
  });

  it("a worker started with a bad config exits 2 with one clear line", async () => {
    const { spawnSync } = await import("child_process");
    const { workerScriptPath } = await import("../src/cluster/local");
    const r = spawnSync(process.execPath, [workerScriptPath(), "--config", "/nonexistent/config.yml"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("autocnet-worker: /nonexistent/config.yml: cannot read the configuration (ENOENT); check the path");
    const bad = spawnSync(process.execPath, [workerScriptPath(), "--bogus"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown argument '--bogus'; usage: autocnet-worker/);
  });

  it("workers lead process groups of their own: a SIGINT to the starter's group misses them; a starter killed -9 leaves none behind", async () => {
    const { spawn } = await import("child_process");
    const fs = await import("fs");
    const path = await import("path");
    const key = `${conn.config.redis.basename}:out`;
    const sub = await conn.queues.submit("hold", [7], { walltime: 600, kwargs: { key, seconds: 60 } });
    // the starter: a process (and group) of its own that starts one worker, as a notebook kernel does
    const starter = spawn(process.execPath, ["-e", `
      const { LocalCluster } = require(${JSON.stringify(path.join(__dirname, "..", "dist"))});
      process.on("SIGINT", () => console.log("starter got SIGINT"));
      const cluster = new LocalCluster({ concurrency: 1, workerArgs: ["--idle", "30"] });
      cluster.submit({ count: 1, configPath: ${JSON.stringify(conn.config.source)}, walltime: 600 })
        .then(() => console.log("worker", cluster.pids()[0]));
      setInterval(() => {}, 1000);`], { detached: true, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    starter.stdout!.on("data", (d) => (out += String(d)));
    try {
      const started = await until("the job to start", async () => (await recorded(conn, key)).find((r) => r.phase === "started"));
      const worker = Number(started.pid);
      expect(out).toContain(`worker ${worker}`);
      const pgrp = (pid: number) => {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
      };
      expect(pgrp(worker)).toBe(worker);
      expect(pgrp(starter.pid!)).toBe(starter.pid);
      // what Jupyter's interrupt does: SIGINT to the starter's whole process group
      process.kill(-starter.pid!, "SIGINT");
      await until("the starter to see its SIGINT", () => out.includes("starter got SIGINT"));
      // then the starter dies without closing anything; its worker notices (within a second), puts its job back, exits
      process.kill(starter.pid!, "SIGKILL");
      await until("the orphaned worker to exit", () => !fs.existsSync(`/proc/${worker}`) || /\) Z/.test(fs.readFileSync(`/proc/${worker}/stat`, "utf8")), 15_000, 50);
      const requeued = (await readLineage(conn.queues, sub.jobId(0))).events.filter((e) => e.e === "requeued");
      // one requeue, for the starter's death: the SIGINT never reached the worker ("worker received SIGTERM" if it had)
      expect(requeued).toEqual([expect.objectContaining({ cause: "terminated", error: `the process that started this worker (pid ${starter.pid}) exited` })]);
      expect(await conn.queues.lengths()).toMatchObject({ processing: 1, working: 0 });
    } finally {
      try {
        process.kill(-starter.pid!, "SIGKILL");
      } catch {
        // gone
      }
    }
  });
});
