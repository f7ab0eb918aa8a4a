/**
 * The chaos run: a campaign on a private Redis (AOF, appendfsync everysec) and a private PostgreSQL, run
 * through the public API (NetworkCandidateGraph.connect, apply, wait, reconcile, LocalCluster), while
 * everything that can go wrong does: worker processes killed -9 and paused past their lease, Redis killed
 * -9 and restarted from its AOF (then `ncg.reconcile()`, the documented recovery), client connections cut,
 * the database restarted, a job that ignores its abort signal, ~100 poison messages pushed raw, and a
 * second graph process on the same campaign. Then it counts: every submitted job has a row or a dead
 * letter with a reason (lost = 0), duplicates, poison accounted for, the loops alive.
 */
import { fork, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Redis } from "ioredis";
import { stringify } from "yaml";
import { LocalCluster, NetworkCandidateGraph, readCampaignSentinelStatus, type ApplyHandle, type SentinelStatus, type WatcherStatus } from "../../src";
import { ChaosPostgres, ChaosRedis } from "./servers";
import { MARKER_RE, poisonMessages, type Poison } from "./poison";

export interface ChaosOptions {
  /** Real jobs (chaos_write), one row per execution. */
  jobs: number;
  /** How many applies they come in (the first at once, the others during the chaos). */
  applies: number;
  /** Worker processes at once (cluster.concurrency). */
  workers: number;
  /** Jobs each worker process runs at once. */
  workerConcurrency: number;
  /** Milliseconds a chaos_write job works (± half). */
  jobMs: number;
  poison: number;
  /** Jobs that ignore their abort signal (walltime 2 s, each sleeping 5 s). */
  stubborn: number;
  /** Milliseconds between kill -9s of a running worker. */
  killEveryMs: number;
  /** Give up waiting for the drain after this long (then the run fails, naming what is left). */
  drainTimeoutMs: number;
  log?: (line: string) => void;
}

export const PRESETS: Record<"full" | "quick" | "test", ChaosOptions> = {
  full: { jobs: 10_000, applies: 3, workers: 6, workerConcurrency: 4, jobMs: 120, poison: 100, stubborn: 3, killEveryMs: 2000, drainTimeoutMs: 480_000 },
  quick: { jobs: 800, applies: 2, workers: 4, workerConcurrency: 3, jobMs: 120, poison: 100, stubborn: 2, killEveryMs: 2000, drainTimeoutMs: 90_000 },
  // (test: drains in ~15 s alone; 120 s leaves room for a retry backing off after PostgreSQL was down, on a busy machine)
  test: { jobs: 300, applies: 2, workers: 3, workerConcurrency: 3, jobMs: 120, poison: 100, stubborn: 1, killEveryMs: 1500, drainTimeoutMs: 120_000 },
};

export interface ChaosReport {
  jobs: number;
  /** Jobs with neither a row nor a dead letter with a reason (must be 0). */
  lost: number;
  lostJobs: string[];
  /** Jobs the ledger counts completed whose function never wrote its row (part of `lost`). */
  completedWithoutRow: number;
  rows: number;
  /** Executions beyond one per job that wrote a row (rows − jobs with a row). */
  duplicates: number;
  /** Jobs that ran more than once, by what their lineage says happened. */
  duplicateCauses: Record<string, number>;
  dead: number;
  deadReasons: Record<string, number>;
  poison: { pushed: number; accounted: number; quarantined: number; dead: number; ran: number; unexpected: string[]; unaccounted: string[] };
  faults: {
    workersStarted: number; workersKilled: number; killedFraction: number; workersPaused: number; stuckExits: number;
    redisRestarts: number; reconciled: number; clientKills: number; dbRestarts: number;
  };
  loops: {
    sentinel: SentinelStatus; watcher: WatcherStatus; second?: { sentinel: SentinelStatus; watcher: WatcherStatus; seen: number };
    campaignSentinel?: SentinelStatus; idleSweepsPerSecond: number;
  };
  drainSeconds: number;
  events: string[];
  ok: boolean;
  /** Kept when the run failed: config, worker logs, the servers' logs. */
  keptDir?: string;
}

/**
 * A quarantined entry taken from working carries the claim's stamp (max_time, worker, and the job_id given
 * to a message that came without one): the pushed bytes are what remains without it.
 */
function unstamped(raw: string): string {
  try {
    const v = JSON.parse(raw) as unknown;
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const o = { ...(v as Record<string, unknown>) };
      delete o.max_time;
      delete o.worker;
      if (typeof o.job_id === "string" && o.job_id.startsWith("f-")) delete o.job_id;
      return JSON.stringify(o);
    }
    return JSON.stringify(v);
  } catch {
    return raw;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The compiled job module and second-graph script (build/bench/chaos/), also when this runs from TS source. */
function built(file: string): string {
  const candidates = [path.join(__dirname, file), path.join(__dirname, "..", "..", "build", "bench", "chaos", file)];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`bench/chaos/${file} is not built (looked for ${candidates.join(", ")}); run npm run build:dev`);
  return found;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? ((l: string) => console.log(l));
  const events: string[] = [];
  const t0 = Date.now();
  const stamp = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s`;
  const event = (what: string) => {
    events.push(`${stamp()}  ${what}`);
    log(`  ${stamp()}  ${what}`);
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-chaos-"));
  const redis = await ChaosRedis.start();
  let pg: ChaosPostgres | undefined;
  let ncg: NetworkCandidateGraph | undefined;
  let second: ChildProcess | undefined;
  let ok = false;
  try {
    pg = await ChaosPostgres.start();
    const configPath = path.join(dir, "config.yml");
    fs.writeFileSync(configPath, stringify({
      redis: { host: "127.0.0.1", port: redis.port, basename: "chaos" },
      cluster: {
        backend: "local", concurrency: o.workers, walltime: "00:01:00", heartbeat: 1, sentinel_interval: 0.5, maxfailures: 3,
        retry_backoff: 0.5, retry_backoff_max: 4, stuck_grace: 2,
      },
      database: pg.url,
      jobs: [built("jobs.js")],
    }));
    const graphLog: string[] = [];
    const cluster = new LocalCluster({ concurrency: o.workers, workerArgs: ["--concurrency", String(o.workerConcurrency)], logDir: path.join(dir, "workers") });
    ncg = await NetworkCandidateGraph.connect(configPath, { cluster, log: (l) => graphLog.push(`${stamp()} ${l}`) });
    const g = ncg;
    await g.db.query("CREATE TABLE IF NOT EXISTS chaos_runs (job_id text NOT NULL, pid integer, attempt integer, marker text, at timestamptz DEFAULT now())");
    log(`chaos: ${o.jobs} jobs in ${o.applies} applies, ${o.workers} worker processes x ${o.workerConcurrency}, ${o.poison} poison messages, ` +
      `${o.stubborn} stubborn job(s); private redis-server :${redis.port} (AOF everysec), private PostgreSQL :${pg.port}; ${os.cpus().length} cores`);

    // a second graph process on the same campaign
    second = fork(built("second-graph.js"), [configPath], { stdio: ["ignore", "ignore", "pipe", "ipc"] });
    let secondErr = "";
    second.stderr?.on("data", (d) => { if (secondErr.length < 4000) secondErr += String(d); });
    const ask = (cmd: string, timeoutMs = 15_000) => new Promise<Record<string, unknown>>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`second graph did not answer '${cmd}' in ${timeoutMs} ms ${secondErr}`)), timeoutMs);
      second!.once("message", (m) => { clearTimeout(t); resolve(m as Record<string, unknown>); });
      if (cmd !== "ready") second!.send({ cmd });
    });
    await ask("ready", 30_000);
    redis.sampleAof();
    event("second graph process connected (its own sentinel and watcher)");

    // the applies
    const handles: ApplyHandle[] = [];
    const per = Math.ceil(o.jobs / o.applies);
    const sizes = Array.from({ length: o.applies }, (_, i) => Math.max(0, Math.min(per, o.jobs - i * per)));
    const applyNext = async () => {
      const i = handles.length;
      const targets = Array.from({ length: sizes[i]! }, (_, j) => i * per + j);
      handles.push(await g.apply("chaos_write", { on: targets, kwargs: { ms: o.jobMs } }));
      event(`apply ${i + 1}/${o.applies}: ${targets.length} chaos_write jobs (${handles[i]!.applyId})`);
    };
    await applyNext();

    let submitted = sizes[0]!;
    let lastDone = 0;
    const done = async () => {
      try {
        let n = 0;
        for (const h of handles) { const p = await h.progress(); n += p.completed + p.dead; }
        lastDone = n;
      } catch {
        // Redis down or a connection cut: the last count stands
      }
      return lastDone;
    };
    /** Waits until this fraction of all planned jobs finished (or `capMs` passed). */
    const at = async (fraction: number, capMs = 120_000) => {
      const deadline = Date.now() + capMs;
      while (Date.now() < deadline && (await done()) < fraction * Math.min(o.jobs, submitted)) await sleep(150);
    };
    const workers = async () => cluster.pids().filter((p) => !paused.has(p));
    const paused = new Set<number>();

    // kill -9 a running worker every killEveryMs until the planned jobs are nearly done
    let killed = 0;
    let chaosOver = false;
    const killer = (async () => {
      await sleep(1500);
      while (!chaosOver) {
        const pids = await workers();
        if (pids.length > 0) {
          const pid = pids[Math.floor(Math.random() * pids.length)]!;
          try {
            process.kill(pid, "SIGKILL");
            killed++;
          } catch {
            // it exited meanwhile
          }
        }
        await sleep(o.killEveryMs);
      }
    })();

    const pause = async (n: number, ms: number) => {
      const pids = (await workers()).slice(0, n);
      for (const p of pids) { process.kill(p, "SIGSTOP"); paused.add(p); }
      event(`SIGSTOP ${pids.length} worker(s) for ${ms / 1000} s (lease 1.5 s): pids ${pids.join(", ")}`);
      setTimeout(() => {
        for (const p of pids) { try { process.kill(p, "SIGCONT"); } catch { /* killed meanwhile */ } paused.delete(p); }
        event(`SIGCONT ${pids.join(", ")}`);
      }, ms).unref();
      return pids.length;
    };
    const admin = async <T>(what: string, fn: (r: Redis) => Promise<T>): Promise<T> => {
      const r = new Redis({ port: redis.port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 3 });
      r.on("error", () => {});
      try {
        await r.connect();
        return await fn(r);
      } catch (err) {
        throw new Error(`${what}: ${(err as Error).message}`);
      } finally {
        r.disconnect();
      }
    };
    let clientKills = 0;
    const cutClients = async () => {
      const n = await admin("CLIENT KILL", (r) => r.call("CLIENT", "KILL", "TYPE", "normal") as Promise<number>);
      clientKills++;
      event(`CLIENT KILL TYPE normal: ${n} connections cut`);
    };
    const stubbornHandles: ApplyHandle[] = [];
    let pausedTotal = 0;
    let redisRestarts = 0;
    let reconciled = 0;
    let dbRestarts = 0;
    let aofLossAt = 0;
    const poison = poisonMessages(o.poison, handles[0]!.jobId(0));

    // the schedule, by progress (so it fits any machine speed)
    await at(0.05);
    if (o.stubborn > 0) {
      stubbornHandles.push(await g.apply("chaos_stubborn", { on: Array.from({ length: o.stubborn }, (_, i) => 800_000 + i), kwargs: { seconds: 5 }, walltime: 2 }));
      event(`apply: ${o.stubborn} chaos_stubborn job(s) that ignore their abort signal (walltime 2 s, sleeping 5 s)`);
    }
    await at(0.1);
    await admin("push poison", async (r) => {
      for (const p of poison) await r.lpush(g.config.redis.processing_queue, p.bytes);
    });
    event(`${poison.length} poison messages pushed raw onto the processing list`);
    await at(0.15);
    pausedTotal += await pause(Math.max(1, Math.floor(o.workers / 3)), 4000);
    // the middle applies come now; the last one just before Redis loses its last second
    while (handles.length < o.applies - 1) { await applyNext(); submitted += sizes[handles.length - 1]!; }
    await at(0.25);
    await cutClients();
    await at(0.3);
    await sleep(2500); // the poison is in the AOF by now (written within a second)
    const recover = async (what: string) => {
      for (let i = 0; ; i++) {
        try {
          const report = await g.reconcile();
          const n = report.reduce((s, r) => s + r.requeued, 0);
          reconciled += n;
          event(`ncg.reconcile() after ${what}: ${n} job(s) put back (per apply requeued/finished/queued: ${report.map((r) => `${r.requeued}/${r.finished}/${r.queued}`).join(", ")})`);
          return;
        } catch (err) {
          if (i >= 40) throw err;
          await sleep(500);
        }
      }
    };
    await redis.kill9();
    redisRestarts++;
    event("redis-server killed -9 (its AOF intact: with appendfsync everysec a process kill loses nothing written)");
    await sleep(1000);
    await redis.start();
    event("redis-server restarted from its AOF");
    await recover("a restart from an intact AOF");
    await at(0.4);
    if (handles.length < o.applies) { await applyNext(); submitted += sizes[handles.length - 1]!; }
    await sleep(600);
    aofLossAt = Date.now();
    const dropped = await redis.kill9LosingLast(1000);
    redisRestarts++;
    event(`redis-server killed -9, its AOF cut back to 1 s ago (${dropped} bytes dropped: what a machine crash with appendfsync everysec loses)`);
    await sleep(500);
    await redis.start();
    event("redis-server restarted from the truncated AOF");
    await recover("a restart that lost the last second");
    await at(0.5);
    event("PostgreSQL: immediate stop (every connection cut), 1.5 s down");
    await pg.restart(1500);
    dbRestarts++;
    event("PostgreSQL started again");
    await at(0.6);
    await cutClients();
    await at(0.7);
    pausedTotal += await pause(Math.max(1, Math.floor(o.workers / 3)), 4000);
    await at(0.85);
    // at least a third of all the worker processes started are killed: keep going a little if need be
    for (;;) {
      const started = (await cluster.jobs()).length;
      if (killed >= 0.35 * started || (await done()) >= 0.98 * o.jobs) break;
      await sleep(200);
    }
    chaosOver = true;
    await killer;
    event(`chaos over: ${killed} worker(s) killed -9; draining`);

    // the drain: every apply's wait(), then nothing left in any queue (the valid poison runs too)
    const deadline = t0 + o.drainTimeoutMs;
    const left = () => Math.max(1000, deadline - Date.now());
    let drained = true;
    try {
      for (const h of [...handles, ...stubbornHandles]) await h.wait({ timeout: left() });
      for (;;) {
        const l = await g.queueLengths();
        if (l.processing + l.working + l.completed === 0) break;
        if (Date.now() > deadline) throw new Error(`queues not empty: ${JSON.stringify(l)}`);
        await sleep(250);
      }
    } catch (err) {
      drained = false;
      event(`NOT DRAINED: ${(err as Error).message}`);
      // what the next person needs to tell a stuck retry from a missing worker: where the unfinished jobs
      // are, what their lineage says last, and whether anything would start a worker for them
      try {
        const l = await g.queueLengths();
        const k = g.queues.keys;
        const due = (await g.redisQueue.zrange(k.delayed, 0, 4, "WITHSCORES")).filter((_, i) => i % 2 === 1).map((ms) => `${((Number(ms) - Date.now()) / 1000).toFixed(1)} s`);
        const workers = (await g.cluster().then((c) => c.jobs()).catch(() => [])).filter((j) => j.state === "running").length;
        event(`  queues ${JSON.stringify(l)}; next retries due in [${due.join(", ")}]; local workers running ${workers}`);
        const unfinished = await g.db.query<{ job_id: string }>(
          "SELECT job_id FROM jobs WHERE apply_id = ANY($1) AND outcome IS NULL ORDER BY idx LIMIT 5", [[...handles, ...stubbornHandles].map((h) => h.applyId!)]);
        for (const { job_id } of unfinished) {
          const events = (await g.lineage(job_id).catch(() => undefined))?.events ?? [];
          event(`  ${job_id}: ${events.slice(-4).map((e) => JSON.stringify(e)).join(" ")}`);
        }
      } catch (diagnosisError) {
        event(`  (no diagnosis: ${(diagnosisError as Error).message})`);
      }
    }
    const drainSeconds = (Date.now() - t0) / 1000;
    event(drained ? "drained" : "gave up waiting");

    // the sentinel at rest: sweeps per second while nothing expires
    const s0 = g.sentinel.status().sweeps;
    await sleep(3000);
    const idleSweepsPerSecond = (g.sentinel.status().sweeps - s0) / 3;

    // counting
    const applyIds = [...handles, ...stubbornHandles].map((h) => h.applyId!);
    const jobs = await g.db.query<{ job_id: string; outcome: string | null; reason: string | null }>(
      "SELECT job_id, outcome, reason FROM jobs WHERE apply_id = ANY($1)", [applyIds]);
    const rowsBy = new Map<string, number>();
    const firstRunAt = new Map<string, number>();
    for (const r of await g.db.query<{ job_id: string; n: string; first: Date }>("SELECT job_id, count(*) AS n, min(at) AS first FROM chaos_runs GROUP BY job_id")) {
      rowsBy.set(r.job_id, Number(r.n));
      firstRunAt.set(r.job_id, new Date(r.first).getTime());
    }
    let rows = 0;
    let withRow = 0;
    let completedWithoutRow = 0;
    const lostJobs: string[] = [];
    const deadReasons: Record<string, number> = {};
    let dead = 0;
    for (const j of jobs) {
      const n = rowsBy.get(j.job_id) ?? 0;
      rows += n;
      if (n > 0) withRow++;
      if (j.outcome === "dead") {
        dead++;
        const reason = (j.reason ?? "").replace(/[0-9a-z]{8}-\d+/g, "<job>").slice(0, 100);
        deadReasons[reason || "(no reason)"] = (deadReasons[reason || "(no reason)"] ?? 0) + 1;
      }
      if (j.outcome === "completed" && n === 0) completedWithoutRow++;
      const accounted = (n > 0 && j.outcome === "completed") || (j.outcome === "dead" && !!j.reason);
      if (!accounted) lostJobs.push(`${j.job_id} (outcome ${j.outcome ?? "none"}, ${n} rows)`);
    }

    // where the duplicates came from: the retries their lineage records (up to 500 jobs read)
    const duplicateCauses: Record<string, number> = {};
    for (const j of jobs.filter((x) => (rowsBy.get(x.job_id) ?? 0) > 1).slice(0, 500)) {
      const events = (await g.lineage(j.job_id).catch(() => undefined))?.events ?? [];
      const causes = [...new Set(events.filter((e) => e.e === "requeued").map((e) => String(e.cause)))].sort();
      const extra = events.some((e) => e.e === "duplicate") ? " (+ a duplicate finish)" : "";
      const first = firstRunAt.get(j.job_id) ?? 0;
      const inLostSecond = aofLossAt > 0 && first >= aofLossAt - 1500 && first <= aofLossAt;
      const key = causes.length ? `requeued: ${causes.join(" + ")}${extra}`
        : inLostSecond ? `no retry recorded, first run in the second the AOF lost (its claim and completion went with it)${extra}`
          : `no retry recorded, first run outside the lost second${extra}`;
      duplicateCauses[key] = (duplicateCauses[key] ?? 0) + 1;
    }

    // poison: found in quarantine, in the dead letters with a reason, or run as its own job
    const fate = new Map<string, Set<string>>();
    const found = (marker: string, where: string) => { if (!fate.has(marker)) fate.set(marker, new Set()); fate.get(marker)!.add(where); };
    const bareQuarantined: string[] = [];
    const k = g.queues.keys;
    for (const rec of await g.redisQueue.lrangeBuffer(k.quarantine, 0, -1)) {
      const text = rec.toString("latin1");
      const markers = new Set<string>(text.match(MARKER_RE) ?? []);
      let raw: string | undefined;
      try {
        const parsed = JSON.parse(rec.toString("utf8")) as { raw?: string; raw_base64?: string };
        raw = parsed.raw_base64 ? Buffer.from(parsed.raw_base64, "base64").toString("latin1") : parsed.raw;
        for (const m of (raw ?? "").match(MARKER_RE) ?? []) markers.add(m);
      } catch {
        // the marker search above stands
      }
      for (const m of markers) found(m, "quarantine");
      if (markers.size === 0 && raw !== undefined) bareQuarantined.push(unstamped(raw));
    }
    for (const rec of await g.redisQueue.lrangeBuffer(k.dead, 0, -1)) {
      const text = rec.toString("latin1");
      let reason = "";
      try { reason = String((JSON.parse(rec.toString("utf8")) as { reason?: string }).reason ?? ""); } catch { /* unparsable */ }
      for (const m of text.match(MARKER_RE) ?? []) if (reason) found(m, "dead");
    }
    for (const r of await g.db.query<{ marker: string }>("SELECT DISTINCT marker FROM chaos_runs WHERE marker IS NOT NULL")) found(r.marker, "run");
    const unaccounted: string[] = [];
    const unexpected: string[] = [];
    const fates = { quarantine: 0, dead: 0, run: 0 };
    const bare = [...bareQuarantined];
    for (const p of poison) {
      let where: Set<string> | undefined;
      if (p.marker) where = fate.get(p.marker);
      else {
        const i = bare.indexOf(unstamped(p.bytes.toString("latin1")));
        if (i >= 0) { bare.splice(i, 1); where = new Set(["quarantine"]); }
      }
      if (!where || where.size === 0) { unaccounted.push(`${p.marker ?? "(unmarked)"} ${p.label}`); continue; }
      const first = where.has(p.expect) ? p.expect : ([...where][0] as Poison["expect"]);
      fates[first]++;
      if (!where.has(p.expect) || where.size > 1) unexpected.push(`${p.marker ?? ""} ${p.label}: expected ${p.expect}, found ${[...where].join(" + ")}`);
    }

    // the loops, and the workers
    let secondStatus: ChaosReport["loops"]["second"];
    try {
      const s = await ask("status");
      secondStatus = { sentinel: s.sentinel as SentinelStatus, watcher: s.watcher as WatcherStatus, seen: Number(s.seen) };
    } catch (err) {
      event(`second graph: ${(err as Error).message}`);
    }
    const campaignSentinel = await readCampaignSentinelStatus(g.queues).catch(() => undefined);
    const procs = await cluster.jobs();
    const stuckExits = procs.filter((p) => p.exitCode === 3).length;
    const sentinel = g.sentinel.status();
    const watcher = g.watcher.status();
    const lost = lostJobs.length;
    const poisonAccounted = poison.length - unaccounted.length;
    const loopsAlive = sentinel.running && watcher.running && !!secondStatus?.sentinel.running && !!secondStatus?.watcher.running;
    ok = drained && lost === 0 && unaccounted.length === 0 && loopsAlive && jobs.length === o.jobs + o.stubborn;
    if (!ok && graphLog.length) log(`graph log (last 30 of ${graphLog.length}):\n${graphLog.slice(-30).join("\n")}`);
    for (const b of bare) unexpected.push(`quarantined without a marker, matching nothing pushed: ${JSON.stringify(b.slice(0, 80))}`);
    return {
      jobs: jobs.length, lost, lostJobs: lostJobs.slice(0, 50), completedWithoutRow, rows, duplicates: rows - withRow, duplicateCauses, dead, deadReasons,
      poison: { pushed: poison.length, accounted: poisonAccounted, quarantined: fates.quarantine, dead: fates.dead, ran: fates.run, unexpected, unaccounted },
      faults: {
        workersStarted: procs.length, workersKilled: killed, killedFraction: procs.length ? killed / procs.length : 0, workersPaused: pausedTotal,
        stuckExits, redisRestarts, reconciled, clientKills, dbRestarts,
      },
      loops: { sentinel, watcher, second: secondStatus, campaignSentinel, idleSweepsPerSecond },
      drainSeconds, events, ok, keptDir: ok ? undefined : dir,
    };
  } finally {
    if (second && second.connected) {
      second.send({ cmd: "close" });
      await Promise.race([new Promise((r) => second!.once("exit", r)), sleep(15_000)]);
    }
    if (second && second.exitCode === null) second.kill("SIGKILL");
    await ncg?.close().catch((err) => log(`closing the graph: ${(err as Error).message}`));
    await redis.stop();
    if (pg) {
      if (!ok) fs.cpSync(path.join(pg.root, "server.log"), path.join(dir, "postgres.log"), { force: true });
      await pg.stop().catch(() => {});
    }
    if (ok) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The report as the lines `npm run chaos` prints. */
export function formatReport(r: ChaosReport, label: string): string {
  const f = r.faults;
  const st = (s?: { running: boolean }) => (s?.running ? "alive" : "NOT RUNNING");
  const lines = [
    `\nchaos ${label}: ${r.ok ? "PASSED" : "FAILED"}`,
    `  jobs lost                 ${r.lost}${r.lost ? `  <-- ${r.lostJobs.slice(0, 10).join("; ")}` : ""}  (of ${r.jobs} submitted: each has >= 1 row, or is dead-lettered with a reason)`,
    `  completed without a row   ${r.completedWithoutRow}`,
    `  duplicate executions      ${r.duplicates} (${r.rows} rows for ${r.rows - r.duplicates} jobs with a row)`,
    ...Object.entries(r.duplicateCauses).sort((a, b) => b[1] - a[1]).map(([k, v]) => `      ${String(v).padStart(5)} job(s) ${k}`),
    `  dead-lettered             ${r.dead}${r.dead ? `: ${Object.entries(r.deadReasons).map(([k, v]) => `${v} x ${k}`).join("; ")}` : ""}`,
    `  poison accounted for      ${r.poison.accounted} of ${r.poison.pushed} (quarantined ${r.poison.quarantined}, dead with a reason ${r.poison.dead}, ` +
      `ran once as a valid foreign job ${r.poison.ran})${r.poison.unaccounted.length ? `  <-- unaccounted: ${r.poison.unaccounted.join("; ")}` : ""}`,
    ...(r.poison.unexpected.length ? [`    not where expected: ${r.poison.unexpected.join("; ")}`] : []),
    `  faults                    ${f.workersKilled} of ${f.workersStarted} worker processes killed -9 (${(f.killedFraction * 100).toFixed(0)} %), ` +
      `${f.workersPaused} paused past their lease, ${f.stuckExits} exited stuck (code 3); Redis killed -9 and restarted from its AOF ${f.redisRestarts}x ` +
      `(reconcile put back ${f.reconciled}); client connections cut ${f.clientKills}x; PostgreSQL restarted ${f.dbRestarts}x`,
    `  sentinel                  ${st(r.loops.sentinel)} (${r.loops.sentinel.sweeps} sweeps, requeued ${r.loops.sentinel.requeued}, dead ${r.loops.sentinel.deadLettered}, ` +
      `quarantined ${r.loops.sentinel.quarantined}, ${r.loops.sentinel.errors} errors survived); idle: ${r.loops.idleSweepsPerSecond.toFixed(1)} sweeps/s`,
    `  watcher                   ${st(r.loops.watcher)} (handled ${r.loops.watcher.handled}, retries ${r.loops.watcher.retries}, quarantined ${r.loops.watcher.quarantined}, ${r.loops.watcher.errors} errors survived)`,
    `  second graph process      sentinel ${st(r.loops.second?.sentinel)}${r.loops.second ? ` (${r.loops.second.sentinel.sweeps} sweeps as leader)` : ""}, ` +
      `watcher ${st(r.loops.second?.watcher)}${r.loops.second ? ` (handled ${r.loops.second.watcher.handled}), saw ${r.loops.second.seen} completions on the feed` : ""}`,
    `  time to drain             ${r.drainSeconds.toFixed(1)} s (first apply to every wait() resolved and every queue empty)`,
  ];
  if (r.keptDir) lines.push(`  kept for inspection       ${r.keptDir}`);
  return lines.join("\n");
}
