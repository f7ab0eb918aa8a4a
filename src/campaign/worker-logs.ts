import * as fs from "fs";
import * as path from "path";
import * as readline from "readline";
import { localLogFile } from "../cluster/local";
import type { Lineage } from "../queue/lineage";

/** One attempt of a job and what its worker's log says about it. */
export interface AttemptLog {
  attempt: number;
  /** The worker that claimed it (lineage), and its cluster task (`local-1_2`, `slurm 1234_7`). */
  worker?: string;
  task?: string;
  /** The log file(s) read; empty if none was found (`note` says why). */
  files: string[];
  /** The lines the worker wrote for this job while holding it: ctx.log, console.log/error inside the job, its failure. */
  lines: string[];
  note?: string;
}

export interface JobLogs {
  jobId: string;
  /** Every line of every attempt, in order of the attempts. */
  lines: string[];
  attempts: AttemptLog[];
  toString(): string;
}

/**
 * The log lines of a job's attempts, from its lineage (which worker and task claimed each attempt) and the
 * workers' log files in `logDir`: a local worker's `<task>.<pid>.log`, a SLURM task's `<name>-<array>_<task>.out`
 * and `.err`. A worker prefixes every line of a job with `[worker <id>] <job id>` (ctx.log, and with
 * `captureJobOutput` anything the job prints), so lines of other jobs, and of other workers that wrote to the
 * same file, are left out.
 */
export async function readJobLogs(lineage: Lineage, logDir: string): Promise<JobLogs> {
  const attempts: AttemptLog[] = [];
  const read = new Map<string, string[]>(); // "<file>\n<worker>" -> the job's lines in it
  for (const ev of lineage.events) {
    if (ev.e !== "claimed") continue;
    const a: AttemptLog = { attempt: ev.a ?? 0, worker: ev.w, task: ev.task, files: [], lines: [] };
    attempts.push(a);
    if (!ev.w) {
      a.note = "no worker recorded for this attempt";
      continue;
    }
    a.files = logFilesOf(logDir, ev.w, ev.task);
    if (a.files.length === 0) {
      a.note = `no log found in ${logDir} for worker ${ev.w}${ev.task ? ` [${ev.task}]` : ""}`;
      continue;
    }
    // a worker that ran several attempts of the job wrote their lines one after the other: each attempt
    // takes them up to its own failure line ("<job> attempt N failed …"), the last one the rest
    const key = `${a.files.join("\n")}\n${ev.w}`;
    let lines = read.get(key);
    if (!lines) {
      lines = [];
      for (const file of a.files) lines.push(...(await linesOf(file, `[worker ${ev.w}] ${lineage.jobId}`)));
      read.set(key, lines);
    }
    const later = lineage.events.some((e) => e.e === "claimed" && e.w === ev.w && (e.a ?? 0) > a.attempt);
    const failed = `[worker ${ev.w}] ${lineage.jobId} attempt ${a.attempt} failed`;
    const end = later ? lines.findIndex((l) => l.startsWith(failed)) : -1;
    a.lines = end >= 0 ? lines.splice(0, end + 1) : lines.splice(0);
  }
  const lines = attempts.flatMap((a) => a.lines);
  const text = [`logs of job ${lineage.jobId}: ${attempts.length} attempt(s), ${lines.length} line(s)`,
    ...attempts.flatMap((a) => [`  #${a.attempt}${a.worker ? ` on ${a.worker}` : ""}${a.task ? ` [${a.task}]` : ""}` +
      `${a.files.length > 0 ? ` — ${a.files.join(", ")}` : ""}${a.note ? ` — ${a.note}` : ""}`, ...a.lines.map((l) => `    ${l}`)])].join("\n");
  return { jobId: lineage.jobId, lines, attempts, toString: () => text };
}

/** The log files of one worker: by its task label and the pid in its id, else any file of that task. */
function logFilesOf(dir: string, worker: string, task?: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const slurm = task ? /^slurm (\d+(?:_\d+)?)$/.exec(task) : null;
  if (slurm) {
    // --output/--error %x-%A_%a.out/.err (the job name first)
    return names.filter((n) => n.endsWith(`-${slurm[1]}.out`) || n.endsWith(`-${slurm[1]}.err`)).sort().map((n) => path.join(dir, n));
  }
  if (!task) return [];
  const pid = /-(\d+)-[A-Za-z0-9]+$/.exec(worker)?.[1];
  if (pid) {
    const exact = localLogFile(dir, task, Number(pid));
    if (fs.existsSync(exact)) return [exact];
  }
  return names.filter((n) => n.startsWith(`${task}.`) && n.endsWith(".log")).sort().map((n) => path.join(dir, n));
}

/** The lines of a file that start with `prefix` followed by ':' or ' ' (read as a stream). */
async function linesOf(file: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let stream: fs.ReadStream;
  try {
    stream = fs.createReadStream(file, { encoding: "utf8" });
  } catch {
    return out;
  }
  const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of rl) {
      if (line.startsWith(prefix) && (line[prefix.length] === ":" || line[prefix.length] === " ")) out.push(line);
    }
  } catch {
    // unreadable file: what was read stands
  } finally {
    rl.close();
    stream.destroy();
  }
  return out;
}
