import { createHash } from "crypto";
import { isUtf8 } from "buffer";
import { parseWalltime } from "../config/walltime";
import { FOREIGN_PREFIX } from "./job-id";

export { newApplyId } from "./job-id";

/** A job's target: a node id, or `[source, destination]` for an edge. */
export type Target = number | string | [number | string, number | string] | unknown[];

/** Whether a target names an edge: a `[source, destination]` pair. */
export function isEdgeTarget(t: unknown): t is [number | string, number | string] {
  return Array.isArray(t) && t.length === 2;
}

/** A node id: a finite number or a non-empty string (at most 200 characters). */
function isNodeId(x: unknown): x is number | string {
  return (typeof x === "number" && Number.isFinite(x)) || (typeof x === "string" && x.length > 0 && x.length <= 200);
}

/**
 * Why a value is not a target (undefined if it is one): a target is a node id (a finite number or a
 * non-empty string) or a `[source, destination]` pair of node ids. Anything else (`[[1],[2]]`, `{}`, `true`,
 * `[1, 2, 3]`) is refused at apply and quarantined when it arrives in a message, so that it can never be
 * coerced into some other edge's status.
 */
export function targetProblem(t: unknown): string | undefined {
  if (isNodeId(t)) return undefined;
  if (Array.isArray(t) && t.length === 2 && isNodeId(t[0]) && isNodeId(t[1])) return undefined;
  return "is not a node id (a number or a string) or a [source, destination] pair of node ids";
}

/** A target as messages show it (one line, at most 120 characters). */
export function describeTarget(t: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(t) ?? String(t);
  } catch {
    text = String(t);
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * One job message as it travels through the queues (see docs/protocol.md). AutoCNet's keys keep their
 * meaning; `job_id`, `attempt` and `infra_failures` are ours.
 */
export interface JobMessage {
  /** Stable across attempts: `<apply_id>-<index>`, or `f-<12 hex>` for a foreign message. */
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
  /** Attempts lost to an unreachable database or Redis: retried without spending `count` (missing: 0). */
  infra_failures?: number;
  /** Stamped on claim: epoch ms after which this attempt is over (Redis clock). */
  max_time?: number;
  /** Stamped on claim: which worker holds it. */
  worker?: string;
  /** Keys this version does not know, kept as they came. */
  extra: Record<string, unknown>;
}

export type DecodeResult = { ok: true; message: JobMessage } | { ok: false; reason: string };

const KNOWN = new Set([
  "job_id", "id", "along", "func", "args", "kwargs", "walltime", "count", "attempt", "param_step", "infra_failures",
  "max_time", "worker",
]);

/** The job-id grammar every transition accepts: what can be put in a Redis key and a JSON string as is. */
export const JOB_ID_RULE = "1 to 128 letters, digits, '_', '.', ':' or '-'";
const JOB_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export function isValidJobId(id: unknown): id is string {
  return typeof id === "string" && JOB_ID.test(id);
}

/** How deep a message may nest (objects and lists): deeper is poison, quarantined, never recursed into. */
export const MAX_NESTING = 128;

/**
 * The fixed-position envelope our messages start with (docs/protocol.md, "Reading a message exactly"):
 * the Lua transitions read these four fields from the start of the text, where no kwarg or string can
 * reach; anything else is decoded whole (cjson in Lua, JSON.parse here).
 */
const ENVELOPE = /^\{"job_id":"([A-Za-z0-9_.:-]{1,128})","walltime":(\d+),"count":(\d+),"attempt":(\d+),"id":/;

/** The deepest nesting of a JSON text, without recursion (strings skipped); stops counting past `limit`. */
export function nestingDepth(text: string, limit = MAX_NESTING): number {
  let depth = 0, max = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/**
 * Whether `text` has more than `limit` opening brackets, counted natively (indexOf): far cheaper than a
 * walk of every character, and a text nested deeper than `limit` has at least that many.
 */
function openersOver(text: string, limit: number): boolean {
  let n = 0;
  for (const c of ["{", "["]) {
    for (let i = text.indexOf(c); i >= 0; i = text.indexOf(c, i + 1)) if (++n > limit) return true;
  }
  return false;
}

export interface DecodeOptions {
  /** Messages longer than this (bytes) are refused: `cluster.max_message_bytes`. */
  maxBytes?: number;
}

/**
 * Decodes a raw queue entry (the exact bytes, or text). Tolerant: unknown keys are kept in `extra`, a
 * missing `count` is 0, a missing `along` is inferred. What the engine cannot read exactly gives
 * `{ok: false, reason}` (never throws): bytes that are not UTF-8, not JSON, nested deeper than
 * MAX_NESTING, a job id outside the grammar, a target that is not a node or an edge, fields of the wrong
 * type, an envelope contradicted by a repeated key. The caller quarantines it with the reason.
 */
export function decodeMessage(raw: string | Buffer | null | undefined, defaultWalltime = 600, options: DecodeOptions = {}): DecodeResult {
  if (raw === null || raw === undefined) return { ok: false, reason: "empty message" };
  let text: string;
  if (Buffer.isBuffer(raw)) {
    if (!isUtf8(raw)) return { ok: false, reason: `not valid UTF-8 (${raw.length} bytes; JSON messages are UTF-8 text)` };
    text = raw.toString("utf8");
  } else {
    text = raw;
  }
  if (options.maxBytes !== undefined) {
    const bytes = Buffer.isBuffer(raw) ? raw.length : Buffer.byteLength(text);
    if (bytes > options.maxBytes) return { ok: false, reason: tooLargeReason(bytes, options.maxBytes) };
  }
  if (text.length > 2 * MAX_NESTING && openersOver(text, MAX_NESTING) && nestingDepth(text) > MAX_NESTING) {
    return { ok: false, reason: `nested deeper than ${MAX_NESTING} levels` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
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
  const idProblem = targetProblem(v.id);
  if (idProblem) return { ok: false, reason: `'id' ${describeTarget(v.id)} ${idProblem}` };
  const id = v.id as Target;
  const along = v.along === undefined ? (isEdgeTarget(id) ? "edge" : "node") : v.along;
  if (typeof along !== "string") return { ok: false, reason: "'along' is not a string" };
  const args = v.args === undefined || v.args === null ? [] : v.args;
  if (!Array.isArray(args)) return { ok: false, reason: "'args' is not a list" };
  const kwargs = v.kwargs === undefined || v.kwargs === null ? {} : v.kwargs;
  if (typeof kwargs !== "object" || Array.isArray(kwargs)) return { ok: false, reason: "'kwargs' is not a mapping" };
  const count = v.count === undefined || v.count === null ? 0 : v.count;
  if (typeof count !== "number" || !Number.isInteger(count) || count < 0) {
    return { ok: false, reason: `'count' is not a non-negative whole number (got ${describeTarget(v.count)})` };
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
  const infra = v.infra_failures;
  if (infra !== undefined && (typeof infra !== "number" || !Number.isInteger(infra) || infra < 0)) {
    return { ok: false, reason: "'infra_failures' is not a non-negative whole number" };
  }
  const jobId = v.job_id === undefined || v.job_id === null || v.job_id === "" ? undefined : v.job_id;
  if (jobId !== undefined && typeof jobId !== "string") return { ok: false, reason: "'job_id' is not a string" };
  if (jobId !== undefined && !isValidJobId(jobId)) return { ok: false, reason: `'job_id' must be ${JOB_ID_RULE}` };
  // The transitions read the envelope at the start of the text; a repeated key later on would make this
  // decoder (the last one wins) disagree with them, so such a message is poison.
  const env = ENVELOPE.exec(text);
  if (env && (env[1] !== jobId || Number(env[2]) !== v.walltime || Number(env[3]) !== v.count || Number(env[4]) !== v.attempt)) {
    return { ok: false, reason: "a repeated top-level key contradicts the message's envelope (job_id, walltime, count, attempt)" };
  }
  const extra: Record<string, unknown> = {};
  for (const k in v) if (!KNOWN.has(k)) extra[k] = v[k];
  const message: JobMessage = {
    job_id: jobId ?? foreignJobId(raw),
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
  if (infra !== undefined && infra !== 0) message.infra_failures = infra as number;
  if (typeof v.max_time === "number") message.max_time = v.max_time;
  if (typeof v.worker === "string") message.worker = v.worker;
  return { ok: true, message };
}

/**
 * The job id of a working entry without one: an entry another client (an AutoCNet worker) moved there
 * itself. It is a hash of the entry's bytes, so the sentinel, which adopts it, and this decoder agree
 * (`adopt` in Lua derives the same). A message without job_id that our `claim` takes gets a new id per
 * push instead (`f-` and 12 hex digits of a counter): pushing the same message twice makes two jobs.
 */
export function foreignJobId(raw: string | Buffer): string {
  return `${FOREIGN_PREFIX}${createHash("sha1").update(raw).digest("hex").slice(0, 12)}`;
}

/** The lease key of a working entry (its deadline's member): 16 hex digits of the SHA-1 of its bytes, as Lua's. */
export function leaseKeyOf(entry: string | Buffer): string {
  return createHash("sha1").update(entry).digest("hex").slice(0, 16);
}

export function tooLargeReason(bytes: number, limit: number): string {
  return `the message is ${bytes} bytes, over cluster.max_message_bytes (${limit})`;
}

/**
 * Encodes a message for the processing queue. The envelope comes first, in this order — `job_id`,
 * `walltime` (whole seconds), `count`, `attempt`, `id` — which is what the Lua transitions read exactly
 * (docs/protocol.md); then `along`, `func`, `args` and `kwargs` (always both, empty or not: AutoCNet's
 * worker reads them unconditionally), then `param_step`, `infra_failures` and unknown keys. Claim stamps
 * (`max_time`, `worker`) are dropped.
 */
export function encodeMessage(m: Omit<JobMessage, "extra" | "max_time" | "worker"> & { extra?: Record<string, unknown> }): string {
  const out: Record<string, unknown> = {
    job_id: m.job_id, walltime: m.walltime, count: m.count, attempt: m.attempt, id: m.id, along: m.along, func: m.func,
    args: m.args, kwargs: m.kwargs,
  };
  if (m.param_step !== undefined) out.param_step = m.param_step;
  if (m.infra_failures) out.infra_failures = m.infra_failures;
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
  const envelope = full.slice(full.indexOf('","walltime":'), full.indexOf(',"id":') + 6);
  const tail = full.slice(full.indexOf(',"along":'));
  return (jobId, id) => {
    const idJson = Array.isArray(id) && id.length === 2 && typeof id[0] === "number" && typeof id[1] === "number"
      ? `[${id[0]},${id[1]}]` : typeof id === "number" ? String(id) : JSON.stringify(id);
    return `{"job_id":"${jobId}${envelope}${idJson}${tail}`;
  };
}

/**
 * The message of the next attempt, after a failure: `count` + 1 (unless the failure was the
 * infrastructure's: then `infra_failures` + 1 instead), `attempt` + 1, with any changes.
 */
export function nextAttempt(
  m: JobMessage,
  changes: { kwargs?: Record<string, unknown>; walltime?: number; param_step?: number } = {},
  options: { infrastructure?: boolean } = {},
): string {
  return encodeMessage({
    ...m,
    kwargs: changes.kwargs ?? m.kwargs,
    walltime: changes.walltime ?? m.walltime,
    param_step: changes.param_step ?? m.param_step,
    count: options.infrastructure ? m.count : m.count + 1,
    infra_failures: options.infrastructure ? (m.infra_failures ?? 0) + 1 : m.infra_failures,
    attempt: m.attempt + 1,
  });
}
