import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SlurmCluster, splitArrays } from "../src/cluster/slurm";
import { syntheticImages } from "../src/synthetic/footprints";
import { NetworkCandidateGraph } from "../src/graph";
import { FIXTURE_JOBS, testConfig, until } from "./helpers";

/**
 * Against a real single-node SLURM (scripts/slurm-dev-cluster.sh, which .ci/run starts; started here too
 * if it is not running). Needs root, as CI has.
 */
const root = path.join(__dirname, "..");
const SLURM_CONF = "/tmp/autocnet-slurm/slurm.conf";

describe("splitArrays", () => {
  it("splits N tasks into arrays below MaxArraySize", () => {
    expect(splitArrays(50, 1001)).toEqual([50]);
    expect(splitArrays(1000, 1001)).toEqual([1000]);
    expect(splitArrays(1500, 1001)).toEqual([1000, 500]);
    expect(splitArrays(12, 5)).toEqual([4, 4, 4]);
  });

  it("writes the batch script from the config: one message per task, or draining as configured", () => {
    const b = new SlurmCluster({ partition: "normal", memPerCpu: "4G", exclude: "node[07-08]", extraSbatch: ["--account=mars"], node: "/opt/node/bin/node" });
    const once = b.batchScript({ count: 5, tasks: 5, configPath: "/campaign/config.yml", walltime: 129600, arraychunk: 10, jobName: "ring match", logDir: "/scratch/logs" });
    expect(once.split("\n").filter((l) => l.startsWith("#SBATCH"))).toEqual([
      "#SBATCH --job-name=ring_match", "#SBATCH --array=1-5%10", "#SBATCH --time=1-12:00:00",
      "#SBATCH --output=/scratch/logs/%x-%A_%a.out", "#SBATCH --error=/scratch/logs/%x-%A_%a.err",
      "#SBATCH --partition=normal", "#SBATCH --mem-per-cpu=4G", "#SBATCH --exclude=node[07-08]", "#SBATCH --account=mars",
    ]);
    expect(once).toMatch(/^exec '\/opt\/node\/bin\/node' '.*worker\.js' --config '\/campaign\/config\.yml' --once --task "slurm \$\{SLURM_ARRAY_JOB_ID\}_\$\{SLURM_ARRAY_TASK_ID\}"$/m);
    const drain = b.batchScript({ count: 5, tasks: 2, configPath: "/c.yml", walltime: 60, mode: "drain", logDir: "/l" });
    expect(drain).toContain("--drain --task");
  });
});

describe("SLURM backend on a real single-node cluster", () => {
  let ncg: NetworkCandidateGraph;
  const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-slurm-db-"));
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-slurm-logs-"));

  beforeAll(async () => {
    const r = spawnSync("bash", ["scripts/slurm-dev-cluster.sh", "start"], { cwd: root, encoding: "utf8", timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    process.env.SLURM_CONF = SLURM_CONF;
    ncg = await NetworkCandidateGraph.connect(testConfig({
      database: { embedded: dbDir },
      cluster: { backend: "slurm", queue: "debug", cluster_log_dir: logDir, heartbeat: 1, sentinel_interval: 0.25 },
      jobs: [FIXTURE_JOBS, path.join(__dirname, "fixtures", "logging-jobs.cjs")],
    }), { log: () => {} });
    await ncg.addImages(syntheticImages(6, 4));
    await ncg.loadFromDatabase();
  }, 300_000);

  afterAll(async () => {
    await ncg?.cancel().catch(() => {});
    await ncg?.clearQueues();
    await ncg?.close();
    fs.rmSync(dbDir, { recursive: true, force: true });
  });

  it("an apply over 50 edges runs as a SLURM job array and every job completes", async () => {
    const edges = [...ncg.edges.values()].slice(0, 50).map((e) => [e.source, e.destination] as [number, number]);
    const h = await ncg.apply("overlap", { on: edges, walltime: "00:05:00" });
    expect(h.count).toBe(50);
    const arrays = h.submission!.arrays!;
    expect(arrays).toHaveLength(1);
    expect(await h.wait({ timeout: 240_000 })).toMatchObject({ total: 50, completed: 50, dead: 0 });
    for (let i = 0; i < 50; i += 7) {
      const claim = (await ncg.lineage(h.jobId(i))).events.find((e) => e.e === "claimed")!;
      expect(claim.task).toMatch(new RegExp(`^slurm ${arrays[0]}_\\d+$`));
    }
    const rows = await ncg.db.query<{ n: number }>("SELECT count(*)::int AS n FROM overlap_results WHERE job_id LIKE $1", [`${h.applyId}-%`]);
    expect(rows[0].n).toBe(50);
    const script = fs.readFileSync(fs.readdirSync(logDir).filter((f) => f.endsWith(".sbatch")).map((f) => path.join(logDir, f))[0], "utf8");
    expect(script).toContain("#SBATCH --array=1-50");
    expect(script).toContain("#SBATCH --time=00:05:00");
    expect(script).toContain("#SBATCH --partition=debug");
    expect(script).toContain(`#SBATCH --output=${logDir}/%x-%A_%a.out`);
  }, 300_000);

  it("ncg.logs(id) reads a task's %x-%A_%a.out and .err: what the job printed and its ctx.log lines (issue 13)", async () => {
    const [node] = [...ncg.nodes.keys()];
    const h = await ncg.apply("chatty", { on: [node], walltime: "00:05:00" });
    expect(await h.wait({ timeout: 240_000 })).toMatchObject({ completed: 1, dead: 0 });
    const id = h.jobId(0);
    const logs = await ncg.logs(id);
    expect(logs.attempts).toHaveLength(1);
    const [a] = logs.attempts;
    expect(a.task).toMatch(new RegExp(`^slurm ${h.submission!.arrays![0]}_1$`));
    expect(a.files.map((f) => path.basename(f)).sort()).toEqual([`chatty-${h.submission!.arrays![0]}_1.err`, `chatty-${h.submission!.arrays![0]}_1.out`]);
    expect(a.lines).toContain(`[worker ${a.worker}] ${id}: printed by ${id} on attempt 1`); // console.log: the .out file
    expect(a.lines).toContain(`[worker ${a.worker}] ${id}: ctx.log of ${id} on attempt 1`); // ctx.log: the .err file
  }, 300_000);

  it("%arraychunk throttling shows in squeue: at most that many tasks run, the rest wait on the limit", async () => {
    const nodes = [...ncg.nodes.keys()].slice(0, 8);
    const h = await ncg.apply("sleep", { on: nodes, kwargs: { seconds: 2 }, arraychunk: 2, walltime: "00:05:00" });
    let maxRunning = 0;
    let sawLimit = false;
    await until("the throttled array to finish", async () => {
      const groups = await ncg.clusterJobs();
      const mine = groups.find((g) => g.array === h.submission!.arrays![0]);
      if (mine) {
        maxRunning = Math.max(maxRunning, (mine.counts.running ?? 0) + (mine.counts.completing ?? 0));
        sawLimit ||= mine.jobs.some((j) => j.reason === "JobArrayTaskLimit");
      }
      const p = await h.progress();
      return p.completed === p.total;
    }, 180_000, 200);
    expect(maxRunning).toBeLessThanOrEqual(2);
    expect(maxRunning).toBeGreaterThan(0);
    expect(sawLimit).toBe(true);
  }, 200_000);

  it("a task killed by SLURM at its walltime is requeued (SLURM TIMEOUT) and completes with new parameters", async () => {
    const [e] = [...ncg.edges.values()].slice(50, 51);
    const h = await ncg.apply("overlap", { on: [[e.source, e.destination]], walltime: "00:01:00", kwargs: { delay_seconds: 600 } });
    const done = await h.wait({ timeout: 240_000 });
    expect(done).toMatchObject({ completed: 1, dead: 0 });
    const lineage = await ncg.lineage(h.jobId(0));
    const requeued = lineage.events.find((x) => x.e === "requeued")!;
    expect(requeued).toMatchObject({ cause: "walltime", error: "SLURM TIMEOUT", a: 1 });
    expect(requeued.params?.to).toMatchObject({ delay_seconds: 0 });
    const claims = lineage.events.filter((x) => x.e === "claimed");
    expect(claims).toHaveLength(2);
    expect(claims[0].task).not.toBe(claims[1].task);
    expect(lineage.events.at(-1)).toMatchObject({ e: "completed", a: 2 });
    const first = (await ncg.clusterJobs()).flatMap((g) => g.jobs).find((j) => `slurm ${j.id}` === claims[0].task);
    expect(first?.slurmState).toBe("TIMEOUT");
  }, 300_000);

  it("scancel of a running array: its messages are requeued, none lost", async () => {
    const edges = [...ncg.edges.values()].slice(51, 55).map((x) => [x.source, x.destination] as [number, number]);
    const h = await ncg.apply("overlap", { on: edges, walltime: "00:10:00", kwargs: { delay_seconds: 600 } });
    await until("all four tasks to hold their job", async () => (await ncg.queueLengths()).working === 4, 120_000, 200);
    await ncg.cancel(h.submission!.id);
    await until("four requeues", async () => {
      let n = 0;
      for (let i = 0; i < 4; i++) if ((await ncg.lineage(h.jobId(i))).events.some((x) => x.e === "requeued")) n++;
      return n === 4;
    }, 60_000, 200);
    for (let i = 0; i < 4; i++) {
      const requeued = (await ncg.lineage(h.jobId(i))).events.find((x) => x.e === "requeued")!;
      expect(requeued.cause).toBe("terminated");
      expect(requeued.error).toMatch(/^SLURM (CANCELLED|ended the task: scancel, preemption or shutdown \(job state COMPLETING\))$/);
    }
    const l = await ncg.queueLengths();
    expect(l.processing + l.working).toBe(4);
    expect(l.dead).toBe(0);
    expect(await h.progress()).toMatchObject({ total: 4, completed: 0, dead: 0 });
    await ncg.cancel();
    await ncg.clearQueues();
  }, 200_000);

  it("splits a submission larger than MaxArraySize into several arrays", async () => {
    const backend = new SlurmCluster({ partition: "debug", logDir, env: { SLURM_CONF } });
    expect(await backend.getMaxArraySize()).toBe(1001);
    const config = testConfig({});
    const s = await backend.submit({ count: 1500, configPath: config.source!, walltime: 60, arraychunk: 1, jobName: "split" });
    try {
      expect(s.arrays).toHaveLength(2);
      const out = spawnSync("squeue", ["-h", "-r", "-t", "all", "-j", s.arrays!.join(","), "-o", "%F"], { encoding: "utf8", env: { ...process.env, SLURM_CONF } });
      const perArray = new Map<string, number>();
      for (const line of out.stdout.split("\n").filter(Boolean)) perArray.set(line, (perArray.get(line) ?? 0) + 1);
      expect(s.arrays!.map((a) => perArray.get(a))).toEqual([1000, 500]);
    } finally {
      await backend.cancel(s.id);
    }
  }, 120_000);

  it("says clearly when SLURM rejects a submission or is not installed", async () => {
    const config = testConfig({});
    const bad = new SlurmCluster({ partition: "no_such_partition", logDir, env: { SLURM_CONF } });
    await expect(bad.submit({ count: 1, configPath: config.source!, walltime: 60 }))
      .rejects.toThrow(/SLURM rejected the submission .*: invalid partition specified: no_such_partition.*check cluster\.queue \('no_such_partition'\) against sinfo/);
    const missing = new SlurmCluster({ env: { PATH: "/nonexistent" } });
    await expect(missing.submit({ count: 1, configPath: config.source!, walltime: 60 }))
      .rejects.toThrow(/^scontrol is not installed: install SLURM's client tools \(Debian: apt-get install slurm-client\), or use cluster.backend: local$/);
  });
});
