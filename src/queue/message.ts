import { createHash } from "crypto";
import { parseWalltime } from "../config/walltime";
import { FOREIGN_PREFIX } from "./job-id";

export { newApplyId } from "./job-id";

/** A job's target: a node id, or `[source, destination]` for an edge, or anything JSON an `along` names. */
export type Target = number | string | [number | string, number | string] | unknown[];

/** Whether a target names an edge: a `[source, destination]` pair. */
export function isEdgeTarget(t: unknown): t is [number | string, number | string] {
  return Array.isArray(t) && t.length === 2;
}

/**
 * One job message as it travels through the queues (see docs/protocol.md). AutoCNet's keys keep their
 * meaning; `job_id` and `attempt` are ours.
 */
export interface JobMessage {
  /** Stable across attempts: `<apply_id>-<index>`. */
  job_id: string;
  /** The target: a node id or `[source, destination]`. */
  id: Target;
  /** What the target is: `node`, `edge`, or another name a job function understands. */
  along: string;
  /** The registered name of the job function; never a module path. */
  func: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  /** Seconds this attempt may run. */
  walltime: number;
  /** Failures so far (AutoCNet's `count`); a missing `count` means 0. */
  count: number;
  /** 1 for the first try, +1 per retry. */
  attempt: number;
  /** Index into a re-parameterisation ladder, when the job's retry policy uses one. */
  param_step?: number;
  /** Stamped on claim: epoch ms after which this attempt is over (Redis clock). */
  max_time?: number;
  /** Stamped on claim: which worker holds it. */
  worker?: string;
  /** Keys this version does not know, kept as they came. */
  extra: Record<string, unknown>;
}

export type DecodeResult = { ok: true; message: JobMessage } | { ok: false; reason: string };

const KNOWN = new Set([
  "job_id", "id", "along", "func", "args", "kwargs", "walltime", "count", "attempt", "param_step", "max_time", "worker",
]);

/**
 * Decodes a raw queue entry. Tolerant: unknown keys are kept in `extra`, a missing `count` is 0, a
 * missing `along` is inferred. Malformed input gives `{ok: false, reason}` (never throws), for quarantine.
 */
export function decodeMessage(raw: string | null | undefined, defaultWalltime = 600): DecodeResult {
  if (raw === null || raw === undefined) return { ok: false, reason: "empty message" };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, reason: "not a JSON object" };
  }
  const v = value as Record<string, unknown>;
  if (typeof v.func !== "string" || v.func.length === 0) return { ok: false, reason: "missing or non-string 'func'" };
  if (!("id" in v) || v.id === null || (typeof v.id === "object" && !Array.isArray(v.id))) {
    return { ok: false, reason: "missing 'id' (a node id or [source, destination])" };
  }
  const id = v.id as Target;
  const along = v.along === undefined ? (isEdgeTarget(id) ? "edge" : "node") : v.along;
  if (typeof along !== "string") return { ok: false, reason: "'along' is not a string" };
  const args = v.args === undefined || v.args === null ? [] : v.args;
  if (!Array.isArray(args)) return { ok: false, reason: "'args' is not a list" };
  const kwargs = v.kwargs === undefined || v.kwargs === null ? {} : v.kwargs;
  if (typeof kwargs !== "object" || Array.isArray(kwargs)) return { ok: false, reason: "'kwargs' is not a mapping" };
  const count = v.count === undefined || v.count === null ? 0 : v.count;
  if (typeof count !== "number" || !Number.isInteger(count) || count < 0) {
    return { ok: false, reason: `'count' is not a non-negative whole number (got ${JSON.stringify(v.count)})` };
  }
  let walltime = defaultWalltime;
  if (v.walltime !== undefined && v.walltime !== null) {
    try {
      walltime = parseWalltime(v.walltime as string | number, "'walltime'");
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }
  const attempt = v.attempt === undefined ? count + 1 : v.attempt;
  if (typeof attempt !== "number" || !Number.isInteger(attempt) || attempt < 1) {
    return { ok: false, reason: "'attempt' is not a whole number from 1" };
  }
  if (v.param_step !== undefined && (typeof v.param_step !== "number" || !Number.isInteger(v.param_step))) {
    return { ok: false, reason: "'param_step' is not a whole number" };
  }
  if (v.job_id !== undefined && typeof v.job_id !== "string") return { ok: false, reason: "'job_id' is not a string" };
  const extra: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) if (!KNOWN.has(k)) extra[k] = val;
  const message: JobMessage = {
    job_id: (v.job_id as string | undefined) || foreignJobId(raw),
    id,
    along,
    func: v.func,
    args,
    kwargs: kwargs as Record<string, unknown>,
    walltime,
    count,
    attempt,
    extra,
  };
  if (v.param_step !== undefined) message.param_step = v.param_step as number;
  if (typeof v.max_time === "number") message.max_time = v.max_time;
  if (typeof v.worker === "string") message.worker = v.worker;
  return { ok: true, message };
}

/** A message from another client without a job_id gets a stable one (the Lua scripts derive the same). */
function foreignJobId(raw: string): string {
  return `${FOREIGN_PREFIX}${createHash("sha1").update(raw).digest("hex").slice(0, 12)}`;
}

/**
 * Encodes a message for the processing queue: fixed key order (`job_id` first, which the Lua scripts
 * rely on), empty `args`/`kwargs` omitted, claim stamps (`max_time`, `worker`) dropped.
 */
export function encodeMessage(m: Omit<JobMessage, "extra" | "max_time" | "worker"> & { extra?: Record<string, unknown> }): string {
  const out: Record<string, unknown> = { job_id: m.job_id, id: m.id, along: m.along, func: m.func };
  if (m.args.length > 0) out.args = m.args;
  if (Object.keys(m.kwargs).length > 0) out.kwargs = m.kwargs;
  out.walltime = m.walltime;
  out.count = m.count;
  out.attempt = m.attempt;
  if (m.param_step !== undefined) out.param_step = m.param_step;
  if (m.extra) for (const [k, v] of Object.entries(m.extra)) if (!(k in out) && !KNOWN.has(k)) out[k] = v;
  return JSON.stringify(out);
}

/**
 * A fast encoder for the first attempts of one apply: everything but `job_id` and `id` is the same for
 * every message, so it is encoded once. Gives exactly what `encodeMessage` gives (tested); a million
 * messages encode in about a third of the time. `jobId` must be JSON-safe (apply ids and indices are).
 */
export function firstAttemptEncoder(fixed: { along: string; func: string; args: unknown[]; kwargs: Record<string, unknown>; walltime: number }):
  (jobId: string, id: Target) => string {
  const full = encodeMessage({ ...fixed, job_id: "", id: 0, count: 0, attempt: 1 });
  const tail = full.slice(full.indexOf(',"along":'));
  return (jobId, id) => {
    const idJson = Array.isArray(id) && id.length === 2 && typeof id[0] === "number" && typeof id[1] === "number"
      ? `[${id[0]},${id[1]}]` : typeof id === "number" ? String(id) : JSON.stringify(id);
    return `{"job_id":"${jobId}","id":${idJson}${tail}`;
  };
}

/** The message of the next attempt, after a failure: `count` + 1, `attempt` + 1, with any changes. */
export function nextAttempt(
  m: JobMessage,
  changes: { kwargs?: Record<string, unknown>; walltime?: number; param_step?: number } = {},
): string {
  return encodeMessage({
    ...m,
    kwargs: changes.kwargs ?? m.kwargs,
    walltime: changes.walltime ?? m.walltime,
    param_step: changes.param_step ?? m.param_step,
    count: m.count + 1,
    attempt: m.attempt + 1,
  });
}
