import type { ApplyProgress } from "../queue/queue-set";
import { escapeHtml, rendered, updatableDisplay, type Rendered } from "./show";

/** A progress bar for one apply: completed (green) and dead-lettered (dark) out of the total. */
export function progressView(p: ApplyProgress, options: { title?: string; startedAt?: number; now?: number } = {}): Rendered {
  const title = options.title ?? "Progress";
  const done = p.completed + p.dead;
  const pct = p.total === 0 ? 100 : (100 * done) / p.total;
  const elapsed = options.startedAt !== undefined ? ((options.now ?? Date.now()) - options.startedAt) / 1000 : undefined;
  const rate = elapsed && elapsed > 0 ? done / elapsed : undefined;
  const detail = `${p.completed.toLocaleString("en-US")} completed, ${p.dead.toLocaleString("en-US")} dead-lettered of ` +
    `${p.total.toLocaleString("en-US")} (${pct.toFixed(1)} %)${elapsed !== undefined ? `, ${elapsed.toFixed(1)} s` : ""}` +
    `${rate ? `, ${rate.toFixed(rate < 10 ? 1 : 0)} jobs/s` : ""}`;
  const w = (n: number) => (p.total === 0 ? 0 : (100 * n) / p.total).toFixed(2);
  const html = `<div style="font:13px sans-serif;max-width:640px"><div><b>${escapeHtml(title)}</b> — ${escapeHtml(detail)}</div>` +
    `<div style="display:flex;height:14px;background:#eee;border-radius:3px;overflow:hidden;margin-top:4px">` +
    `<div style="width:${w(p.completed)}%;background:#2e8b57"></div><div style="width:${w(p.dead)}%;background:#3b3b3b"></div></div></div>`;
  const cells = 30;
  const filled = Math.round((cells * pct) / 100);
  const text = `${title} [${"#".repeat(filled)}${"-".repeat(cells - filled)}] ${detail}`;
  return rendered(html, text);
}

/**
 * A live progress display for `wait()`: one notebook output updated in place inside a kernel; on a
 * terminal a bar redrawn on one line; in a log (no TTY) a line at every 10 %.
 */
export function progressReporter(options: { title?: string; stream?: NodeJS.WriteStream } = {}): (p: ApplyProgress) => void {
  const stream = options.stream ?? process.stderr;
  const startedAt = Date.now();
  let lastDecile = -1;
  let lastText = "";
  const update = updatableDisplay((text) => {
    if (stream.isTTY) stream.write(`\r${text}\x1b[K`);
    else stream.write(`${text}\n`);
  });
  return (p) => {
    const r = progressView(p, { title: options.title, startedAt });
    const finished = p.completed + p.dead >= p.total;
    if (!stream.isTTY) {
      const decile = Math.floor((10 * (p.completed + p.dead)) / Math.max(1, p.total));
      if (decile === lastDecile && !finished) return;
      lastDecile = decile;
    }
    if (r.text === lastText) return;
    lastText = r.text;
    update(r);
    if (finished && stream.isTTY) stream.write("\n");
  };
}
