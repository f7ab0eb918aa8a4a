/**
 * The job-id grammar, in one place (the Lua side, `apply_id_of` in commands/includes/common.lua, is kept
 * equal by a parity test).
 *
 *   job id   = apply id "-" index        index: decimal digits, from 0, the target's place in its apply
 *   apply id = 8 base-36 characters     (newApplyId); never "f"
 *   foreign  = "f-" 12 hex digits       a message from another client without job_id: a hash of its text
 *
 * So `applyIdOf` answers "which apply does this job belong to" the same way everywhere, and a foreign
 * job belongs to no apply.
 */
export const FOREIGN_PREFIX = "f-";

export function jobIdOf(applyId: string, index: number): string {
  return `${applyId}-${index}`;
}

/** The apply of a job id and the job's index in it; undefined for foreign or malformed ids. */
export function parseJobId(jobId: string): { applyId: string; index: number } | undefined {
  const m = /^(.+)-(\d+)$/.exec(jobId);
  if (!m || m[1] === "f") return undefined;
  return { applyId: m[1]!, index: Number(m[2]) };
}

export function applyIdOf(jobId: string): string | undefined {
  return parseJobId(jobId)?.applyId;
}

/** A short, unique-enough id for one `apply` (submission): 8 base-36 characters. */
export function newApplyId(): string {
  const t = Date.now().toString(36).slice(-5);
  const r = Math.floor(Math.random() * 36 ** 3).toString(36).padStart(3, "0");
  return `${t}${r}`;
}
