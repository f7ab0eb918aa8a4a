import type { SentinelStatus } from "../campaign/sentinel";
import type { WatcherStatus } from "../campaign/watcher";
import { escapeHtml, rendered, type Rendered } from "./show";

function ago(t: number | undefined, now: number): string {
  if (!t) return "never";
  const s = (now - t) / 1000;
  return s < 60 ? `${s.toFixed(1)} s ago` : s < 3600 ? `${(s / 60).toFixed(1)} min ago` : `${(s / 3600).toFixed(1)} h ago`;
}

/** Sentinel (and watcher) status: running or not, last sweep, requeued / dead-lettered / quarantined counts, last error. */
export function sentinelStatusView(sentinel: SentinelStatus, watcher?: WatcherStatus, options: { now?: number } = {}): Rendered {
  const now = options.now ?? Date.now();
  const state = !sentinel.running ? "stopped"
    : sentinel.leader ? `running (sweeping${sentinel.where ? `, in ${sentinel.where}` : ""})` : "running (standing by: another sentinel holds the lock)";
  const rows: [string, string][] = [
    ["sentinel", state],
    ["last sweep", `${ago(sentinel.lastSweepAt, now)}${sentinel.lastSweepMs !== undefined ? ` (took ${sentinel.lastSweepMs} ms)` : ""}`],
    ["sweeps", sentinel.sweeps.toLocaleString("en-US")],
    ["requeued", sentinel.requeued.toLocaleString("en-US")],
    ["dead-lettered", sentinel.deadLettered.toLocaleString("en-US")],
    ["quarantined", sentinel.quarantined.toLocaleString("en-US")],
    ["adopted", sentinel.adopted.toLocaleString("en-US")],
    ["errors", `${sentinel.errors}${sentinel.lastError ? ` — last: ${sentinel.lastError} (${ago(sentinel.lastErrorAt, now)})` : ""}`],
  ];
  if (watcher) {
    rows.push(["completed watcher", `${watcher.running ? "running" : "stopped"}: ${watcher.handled.toLocaleString("en-US")} handled, ` +
      `${watcher.quarantined} quarantined, ${watcher.errors} errors${watcher.lastError ? ` — last: ${watcher.lastError}` : ""}`]);
  }
  const dot = !sentinel.running ? "#c9c9c9" : sentinel.errors > 0 && sentinel.lastErrorAt && now - sentinel.lastErrorAt < 60_000 ? "#e15759" : "#2e8b57";
  const html = `<table style="border-collapse:collapse;font:13px sans-serif">` +
    `<caption style="text-align:left;font-weight:bold;padding-bottom:4px"><span style="color:${dot}">●</span> Sentinel status</caption>` +
    rows.map(([k, v]) => `<tr><td style="padding:2px 12px 2px 0;color:#555">${escapeHtml(k)}</td><td style="padding:2px 0">${escapeHtml(v)}</td></tr>`).join("") +
    `</table>`;
  return rendered(html, rows.map(([k, v]) => `${k.padEnd(18)} ${v}`).join("\n"));
}
