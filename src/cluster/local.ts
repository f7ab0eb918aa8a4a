import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { ClusterBackend, ClusterJob, ClusterSubmission, SubmitRequest } from "./backend";

export interface LocalClusterOptions {
  /** Worker processes running at once, across submissions (config `cluster.concurrency`). */
  concurrency: number;
  /** Extra arguments for every worker (e.g. `--concurrency 50`). */
  workerArgs?: string[];
  /** Where worker stdout and stderr go: a directory (one log per worker, `localLogFile`) or 'inherit'. Default: discarded. */
  logDir?: string | "inherit";
  env?: NodeJS.ProcessEnv;
}

interface LocalJob extends ClusterJob {
  child?: ChildProcess;
  exited: Promise<void>;
}

/** Path of the compiled worker command (dist/bin/worker.js), also when this module runs from src/. */
export function workerScriptPath(): string {
  const candidates = [
    path.join(__dirname, "..", "bin", "worker.js"),
    path.join(__dirname, "..", "..", "dist", "bin", "worker.js"),
  ];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`autocnet-worker is not built (looked for ${candidates.join(", ")}); run npm run build`);
  return found;
}

/**
 * The log of one local worker process: its stdout and stderr, `<dir>/<task>.<pid>.log` (the task and the
 * pid are in its lineage's claim events: the task label, and the worker id `<host>-<pid>-<random>`).
 */
export function localLogFile(dir: string, task: string, pid: number): string {
  return path.join(dir, `${task}.${pid}.log`);
}

/** The environment variable giving a local worker its parent's pid: the worker stops when that process is gone. */
export const PARENT_PID_ENV = "AUTOCNET_PARENT_PID";

/** Process groups of live local workers in this process, killed if it exits without closing its clusters. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

/** SIGTERM (or another signal) to a worker's whole process group; false if it is already gone. */
function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal); // not a group leader after all
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * The default cluster: real OS processes on this machine, each running `autocnet-worker`, at most
 * `concurrency` at a time. A worker killed with kill -9 is a real fault the sentinel must recover from.
 *
 * Each worker runs in a process group of its own (`detached`), so a signal meant for the starting
 * process's group — Jupyter's interrupt (SIGINT to the kernel's group), Ctrl-C in a terminal — stops a
 * cell or a script, never the campaign's workers. They are still this process's: `cancel()`/`close()`
 * signal their groups, an exit without `close()` sends them SIGTERM, and a worker whose parent vanished
 * (kill -9) notices within a second and stops ($AUTOCNET_PARENT_PID).
 */
export class LocalCluster implements ClusterBackend {
  readonly name = "local";
  readonly defaultWorkerMode = "drain" as const;
  private readonly jobsById = new Map<string, LocalJob>();
  private readonly queue: { job: LocalJob; args: string[]; start: () => void }[] = [];
  private submissions = 0;
  private active = 0;

  constructor(private readonly options: LocalClusterOptions) {}

  async submit(request: SubmitRequest): Promise<ClusterSubmission> {
    const id = `local-${++this.submissions}`;
    const mode = request.mode ?? this.defaultWorkerMode;
    const processes = mode === "once" ? request.count : Math.min(request.count, this.options.concurrency, request.arraychunk ?? Infinity);
    const script = workerScriptPath();
    for (let i = 1; i <= processes; i++) {
      const args = [script, "--config", request.configPath, `--${mode}`, "--task", `${id}_${i}`, ...(this.options.workerArgs ?? [])];
      let start!: () => void;
      const job: LocalJob = { id: `${id}_${i}`, submission: id, array: id, state: "pending", exited: new Promise((r) => (start = () => this.spawn(job, args, r))) };
      this.jobsById.set(job.id, job);
      this.queue.push({ job, args, start });
    }
    this.pump();
    return { id, backend: this.name, count: processes };
  }

  async jobs(submission?: string): Promise<ClusterJob[]> {
    return [...this.jobsById.values()]
      .filter((j) => !submission || j.submission === submission)
      .map(({ id, submission: s, state, pid, exitCode, signal }) => ({ id, submission: s, array: s, state, pid, exitCode, signal }));
  }

  async activeWorkers(): Promise<number> {
    return [...this.jobsById.values()].filter((j) => j.state === "pending" || j.state === "running").length;
  }

  /** Live worker processes (for fault injection: kill -9 one of these). */
  pids(): number[] {
    return [...this.jobsById.values()].filter((j) => j.state === "running" && j.pid).map((j) => j.pid!);
  }

  async cancel(submission?: string): Promise<void> {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const q = this.queue[i];
      if (!submission || q.job.submission === submission) {
        q.job.state = "cancelled";
        this.queue.splice(i, 1);
        q.start = () => {};
      }
    }
    for (const j of this.jobsById.values()) {
      if ((!submission || j.submission === submission) && j.state === "running" && j.pid) signalGroup(j.pid, "SIGTERM");
    }
  }

  async wait(submission?: string, timeoutMs = 600_000): Promise<void> {
    const pending = [...this.jobsById.values()].filter((j) => (!submission || j.submission === submission) && j.state !== "cancelled");
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`local workers still running after ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
    });
    try {
      await Promise.race([Promise.all(pending.map((j) => j.exited)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.cancel();
    await this.wait(undefined, 10_000).catch(() => {
      for (const j of this.jobsById.values()) if (j.state === "running" && j.pid) signalGroup(j.pid, "SIGKILL");
    });
  }

  private pump(): void {
    while (this.active < this.options.concurrency && this.queue.length > 0) {
      const next = this.queue.shift()!;
      this.active++;
      next.start();
    }
  }

  private spawn(job: LocalJob, args: string[], exited: () => void): void {
    const logDir = this.options.logDir;
    // stdout and stderr both go to the worker's log (a job's console.log too): <task>.<worker pid>.log
    let out: "ignore" | "inherit" | number = "ignore";
    let opened: string | undefined;
    if (logDir === "inherit") out = "inherit";
    else if (logDir) {
      fs.mkdirSync(logDir, { recursive: true });
      opened = path.join(logDir, `${job.id}.starting-${process.pid}-${Date.now()}.log`);
      out = fs.openSync(opened, "a");
    }
    // detached: a group of its own (see the class comment); the handle stays ref'd: a script waits for its workers
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", out, out], detached: true,
      env: { ...process.env, ...this.options.env, [PARENT_PID_ENV]: String(process.pid) },
    });
    if (typeof out === "number") fs.closeSync(out);
    if (opened && child.pid) fs.renameSync(opened, localLogFile(logDir!, job.id, child.pid)); // the worker keeps writing to it
    job.child = child;
    job.pid = child.pid;
    job.state = "running";
    if (child.pid) {
      liveGroups.add(child.pid);
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.on("exit", () => {
          for (const pid of liveGroups) signalGroup(pid, "SIGTERM");
        });
      }
    }
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (child.pid) liveGroups.delete(child.pid);
      if (job.state !== "running") return;
      job.exitCode = code;
      job.signal = signal;
      job.state = signal === "SIGTERM" || code === 143 ? "cancelled" : code === 0 ? "completed" : "failed";
      job.child = undefined;
      this.active--;
      exited();
      this.pump();
    };
    child.on("exit", finish);
    child.on("error", () => finish(null, null));
  }
}
