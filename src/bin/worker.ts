#!/usr/bin/env node
/**
 * autocnet-worker: what a cluster job runs (AutoCNet's acn_submit). Claims messages from the config's
 * processing queue, runs their registered job functions, completes or fails them.
 *
 *   autocnet-worker --config config.yml [--once | --drain | --forever] [--concurrency N] [--idle SECONDS] [--task LABEL]
 *
 * Exit codes: 0 done, 1 a job failed in --once mode, 2 bad usage/config/unreachable Redis, 3 a job ignored
 * its abort signal past walltime + cluster.stuck_grace (its message was moved on; a new worker replaces
 * this one), 143 SIGTERM.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import { openQueues } from "../worker/connection";
import { lazyDatabase, openWorkerDatabase } from "../database";
import { errorMessage } from "../errors";
import { captureJobOutput } from "../worker/job-output";
import type { FailureCause } from "../worker/retry";
import { Worker, type WorkerOptions } from "../worker/worker";

const USAGE = "usage: autocnet-worker [--config FILE] [--once | --drain | --forever] [--concurrency N] [--idle SECONDS] [--task LABEL]";

function parseArgs(argv: string[]): { config?: string; options: WorkerOptions } {
  const options: WorkerOptions = {};
  let config: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value; ${USAGE}`);
      return v;
    };
    const number = () => {
      const v = Number(value());
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${a} needs a positive number; ${USAGE}`);
      return v;
    };
    if (a === "--config" || a === "-c") config = value();
    else if (a === "--once") options.mode = "once";
    else if (a === "--drain") options.mode = "drain";
    else if (a === "--forever") options.mode = "forever";
    else if (a === "--concurrency") options.concurrency = Math.floor(number());
    else if (a === "--idle") options.idleSeconds = number();
    else if (a === "--task") options.task = value();
    else if (a === "--help" || a === "-h") { console.log(USAGE); process.exit(0); }
    else throw new Error(`unknown argument '${a}'; ${USAGE}`);
  }
  if (!options.task && process.env.SLURM_ARRAY_JOB_ID) {
    options.task = `slurm ${process.env.SLURM_ARRAY_JOB_ID}_${process.env.SLURM_ARRAY_TASK_ID ?? "?"}`;
  } else if (!options.task && process.env.SLURM_JOB_ID) {
    options.task = `slurm ${process.env.SLURM_JOB_ID}`;
  }
  return { config, options };
}

/**
 * Under SLURM, why the SIGTERM came: at the --time limit the job is already TIMEOUT; after scancel or
 * preemption, CANCELLED/PREEMPTED. Asked quickly (SLURM's KillWait may be short); unknown is fine.
 */
function slurmTermination(): { cause?: FailureCause; error?: string } {
  const jobId = process.env.SLURM_JOB_ID;
  if (!jobId) return {};
  try {
    const out = execFileSync("scontrol", ["show", "job", jobId], { encoding: "utf8", timeout: 1500, stdio: ["ignore", "pipe", "ignore"] });
    const state = /JobState=(\w+)/.exec(out)?.[1] ?? "";
    if (state === "TIMEOUT" || /Reason=TimeLimit/.test(out)) return { cause: "walltime", error: "SLURM TIMEOUT" };
    if (state === "CANCELLED" || state === "PREEMPTED") return { cause: "terminated", error: `SLURM ${state}` };
    // after scancel the task is often still COMPLETING when its SIGTERM arrives
    return { cause: "terminated", error: `SLURM ended the task: scancel, preemption or shutdown (job state ${state || "unknown"})` };
  } catch {
    return { error: "SIGTERM under SLURM (job state unknown)" };
  }
}

/**
 * Whether the process that started this worker ($AUTOCNET_PARENT_PID, set by the local cluster) is gone:
 * this process was re-parented (Linux: /proc/self/stat), or that pid no longer exists.
 */
function parentGone(parent: number): boolean {
  try {
    const stat = fs.readFileSync("/proc/self/stat", "utf8");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (Number.isInteger(ppid)) return ppid !== parent;
  } catch {
    // no /proc: ask the pid itself
  }
  try {
    process.kill(parent, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  let conn: Awaited<ReturnType<typeof openQueues>>;
  try {
    parsed = parseArgs(process.argv.slice(2));
    conn = await openQueues(parsed.config);
  } catch (err) {
    console.error(`autocnet-worker: ${errorMessage(err)}`);
    return 2;
  }
  const db = lazyDatabase(() => openWorkerDatabase(conn.config));
  captureJobOutput(); // a job's console.log goes to this worker's log, prefixed with its job id (ncg.logs finds it)
  const worker = new Worker(conn.queues, conn.registry, conn.blocking, { ...parsed.options, db });
  let terminated = false;
  const onTerm = (why: () => { cause?: FailureCause; error?: string } = slurmTermination) => {
    if (terminated) return;
    terminated = true;
    // The held messages are in working; moving them on now is faster than waiting for the sentinel,
    // but if SLURM's SIGKILL comes first they are still safe there.
    const hardStop = setTimeout(() => process.exit(143), 10_000);
    hardStop.unref();
    void worker.terminate(why()).finally(() => process.exit(143));
  };
  process.on("SIGTERM", () => onTerm());
  process.on("SIGINT", () => onTerm());
  // A local worker runs in a process group of its own (an interrupt of its parent's group does not reach
  // it): it stops when the process that started it is gone (a kernel or script killed without close()).
  const parent = Number(process.env.AUTOCNET_PARENT_PID);
  if (Number.isInteger(parent) && parent > 1) {
    const watch = setInterval(() => {
      if (!parentGone(parent)) return;
      clearInterval(watch);
      onTerm(() => ({ cause: "terminated", error: `the process that started this worker (pid ${parent}) exited` }));
    }, 1000);
    watch.unref();
  }
  const summary = await worker.run();
  // a stuck job may hold a database connection for ever: closing waits a few seconds at most
  await Promise.race([db.close().catch(() => {}), new Promise((r) => setTimeout(r, 3000).unref())]);
  await conn.close();
  console.error(`autocnet-worker: ${JSON.stringify(summary)}`);
  if (terminated) return 143;
  // a job ignored its abort signal past walltime + cluster.stuck_grace: its message was moved on; this
  // process exits (its function cannot be stopped otherwise) and the supervisor starts a fresh worker
  if (summary.reason === "stuck") return 3;
  return parsed.options.mode === "once" && summary.failed > 0 ? 1 : 0;
}

main().then((code) => process.exit(code), (err) => {
  console.error(`autocnet-worker: ${errorMessage(err)}`);
  process.exit(2);
});
