import { WalltimeError } from "../errors";

const FORMS = "MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS";

/**
 * Parses a SLURM `--time` value into seconds.
 *
 * Accepted: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS` (as `sbatch --time`), or a
 * non-negative number, taken as seconds. Unlike AutoCNet's parser, 24 hours and more stay right:
 * `"1-00:00:00"` and `"36:00:00"` are 86 400 and 129 600 seconds.
 */
export function parseWalltime(value: string | number, what = "walltime"): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value <= 0) {
      throw new WalltimeError(`${what}: ${value} is not a positive number of seconds`);
    }
    return Math.round(value);
  }
  if (typeof value !== "string") {
    throw new WalltimeError(`${what}: expected a SLURM time string (${FORMS}), got ${typeof value}`);
  }
  const text = value.trim();
  const bad = () =>
    new WalltimeError(`${what}: "${value}" is not a SLURM time; use ${FORMS} (e.g. "00:30:00" or "1-12:00:00")`);
  const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(text);
  if (!m) throw bad();
  const [, dayText, a, b, c] = m;
  const n = (s: string | undefined) => (s === undefined ? 0 : Number(s));
  let seconds: number;
  if (dayText !== undefined) {
    // D-HH, D-HH:MM, D-HH:MM:SS
    if ((b !== undefined && n(b) >= 60) || (c !== undefined && n(c) >= 60)) throw bad();
    seconds = n(dayText) * 86400 + n(a) * 3600 + n(b) * 60 + n(c);
  } else if (c !== undefined) {
    // HH:MM:SS
    if (n(b) >= 60 || n(c) >= 60) throw bad();
    seconds = n(a) * 3600 + n(b) * 60 + n(c);
  } else if (b !== undefined) {
    // MM:SS
    if (n(b) >= 60) throw bad();
    seconds = n(a) * 60 + n(b);
  } else {
    // MM
    seconds = n(a) * 60;
  }
  if (seconds <= 0) throw new WalltimeError(`${what}: "${value}" is zero; a job needs some time to run`);
  return seconds;
}

/** Formats seconds as SLURM's `D-HH:MM:SS` (or `HH:MM:SS` under a day), rounding up to whole seconds. */
export function formatWalltime(seconds: number): string {
  const s = Math.ceil(seconds);
  const days = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const p = (x: number) => String(x).padStart(2, "0");
  return `${days > 0 ? `${days}-` : ""}${p(hh)}:${p(mm)}:${p(ss)}`;
}
