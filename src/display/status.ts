import type { SentinelStatus } from "../campaign/sentinel";
import type { CampaignSummary } from "../campaign/summary";
import type { WatcherStatus } from "../campaign/watcher";
import { describeCause } from "../queue/failure-causes";
import { escapeHtml, rendered, type Rendered } from "./show";

function ago(t: number | undefined, now: number): string {
  if (!t) return "never";
  const s = (now - t) / 1000;
  return s < 60 ? `${s.toFixed(1)} s ago` : s < 3600 ? `${(s / 60).toFixed(1)} min ago` : `${(s / 3600).toFixed(1)} h ago`;
}

function duration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : s < 3600 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;
}

const fmt = (n: number) => n.toLocaleString("en-US");

/** A row: label, text, and optionally its HTML (job ids as code). */
type Row = [label: string, text: string, html?: string];

/** The campaign's rows: outcomes since the start, every retry by cause and by who decided it, the lists, throughput, the oldest waiting job, the last dead letters. */
function campaignRows(c: CampaignSummary): Row[] {
  const s = c.stats;
  const byWorker = s.retried - s.retriedBySentinel;
  const causes = Object.entries(s.retriedByCause).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${describeCause(k)} ${fmt(n)}`).join(" · ");
  const deadCauses = Object.entries(s.deadByCause).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${describeCause(k)} ${fmt(n)}`).join(" · ");
  const l = c.lengths;
  const rows: Row[] = [
    ["succeeded", fmt(s.completed)],
    ["retried", `${fmt(s.retried)}${s.retried > 0 ? ` (${fmt(byWorker)} by workers, ${fmt(s.retriedBySentinel)} by the sentinel${causes ? `; ${causes}` : ""})` : ""}`],
    ["dead-lettered", `${fmt(s.dead)}${deadCauses ? ` (${deadCauses})` : ""}`],
    ["in the lists now", `waiting ${fmt(l.processing)} · running ${fmt(l.working)} · being recorded ${fmt(l.completed)} · quarantine ${fmt(l.quarantine)}`],
    ["throughput", c.throughput ? `${c.throughput.perSecond.toFixed(c.throughput.perSecond < 10 ? 2 : 0)} jobs/s (last ${c.throughput.overSeconds.toFixed(0)} s)` : "—"],
  ];
  const o = c.oldestWaiting;
  rows.push(["longest waiting", o ? `${o.jobId}${o.since ? `, waiting ${duration(c.now - o.since)}` : ""}` : "none",
    o ? `<code>${escapeHtml(o.jobId)}</code>${o.since ? `, waiting ${escapeHtml(duration(c.now - o.since))}` : ""}` : "none"]);
  for (const [i, d] of c.recentDead.entries()) {
    const id = d.job_id ?? "(no job id)";
    rows.push([i === 0 ? "last dead letters" : "", `${id}${d.func ? ` (${d.func})` : ""}: ${d.reason}`,
      `<code>${escapeHtml(id)}</code>${d.func ? ` (${escapeHtml(d.func)})` : ""}: ${escapeHtml(d.reason)}`]);
  }
  const ids = [...c.recentDead.map((d) => d.job_id).filter((x): x is string => !!x), ...(o && !o.jobId.startsWith("(") ? [o.jobId] : [])];
  if (ids.length > 0) {
    const call = `await ncg.lineageView(${JSON.stringify([...new Set(ids)])})`;
    rows.push(["their lineage", call, `<code>${escapeHtml(call)}</code>`]);
  }
  for (const [i, a] of c.applies.entries()) {
    const left = a.total - a.completed - a.dead;
    const last = `${a.applyId}-${Math.max(0, a.total - 1)}`;
    const jobsText = a.total <= 1 ? `job ${a.applyId}-0` : `jobs ${a.applyId}-0…${last}`;
    const jobsHtml = a.total <= 1 ? `job <code>${escapeHtml(a.applyId)}-0</code>` : `jobs <code>${escapeHtml(a.applyId)}-0</code>…<code>${escapeHtml(last)}</code>`;
    rows.push([i === 0 ? `applies (latest ${c.applies.length} of ${fmt(c.appliesTotal)})` : "",
      `${a.func} ${a.applyId}: ${fmt(a.completed)} succeeded, ${fmt(a.retried)} retried, ${fmt(a.dead)} dead of ${fmt(a.total)}${left > 0 ? ` (${fmt(left)} to go)` : ""}` +
      ` — ${jobsText}`,
      `${escapeHtml(a.func)} <code>${escapeHtml(a.applyId)}</code>: ${fmt(a.completed)} succeeded, ${fmt(a.retried)} retried, ${fmt(a.dead)} dead of ${fmt(a.total)}` +
      `${left > 0 ? ` (${fmt(left)} to go)` : ""} — ${jobsHtml}`]);
  }
  return rows;
}

/**
 * Campaign status: with a campaign summary, what happened to its jobs (succeeded, every retry whoever
 * decided it, dead letters with their reasons, throughput, the job waiting longest, the latest applies,
 * job ids to pass to `lineageView`); then the sentinel (running or not, last sweep, what it requeued,
 * dead-lettered, quarantined) and the completed watcher.
 */
export function sentinelStatusView(sentinel: SentinelStatus, watcher?: WatcherStatus, options: { now?: number; campaign?: CampaignSummary; title?: string } = {}): Rendered {
  const now = options.now ?? Date.now();
  const state = !sentinel.running ? "stopped"
    : sentinel.leader ? `running (sweeping${sentinel.where ? `, in ${sentinel.where}` : ""})` : "running (standing by: another sentinel holds the lock)";
  const sentinelRows: Row[] = [
    ["sentinel", state],
    ["last sweep", `${ago(sentinel.lastSweepAt, now)}${sentinel.lastSweepMs !== undefined ? ` (took ${sentinel.lastSweepMs} ms)` : ""}`],
    ["sweeps", fmt(sentinel.sweeps)],
    ["requeued", `${fmt(sentinel.requeued)}${options.campaign ? " (by this sentinel: deadlines passed)" : ""}`],
    ["dead-lettered", `${fmt(sentinel.deadLettered)}${options.campaign ? " (by this sentinel)" : ""}`],
    ["quarantined", fmt(sentinel.quarantined)],
    ["adopted", fmt(sentinel.adopted)],
    ["errors", `${sentinel.errors}${sentinel.lastError ? ` — last: ${sentinel.lastError} (${ago(sentinel.lastErrorAt, now)})` : ""}`],
  ];
  if (watcher) {
    sentinelRows.push(["completed watcher", `${watcher.running ? "running" : "stopped"}: ${fmt(watcher.handled)} handled, ` +
      `${watcher.quarantined} quarantined, ${watcher.errors} errors${watcher.lastError ? ` — last: ${watcher.lastError}` : ""}`]);
  }
  const dot = !sentinel.running ? "#c9c9c9" : sentinel.errors > 0 && sentinel.lastErrorAt && now - sentinel.lastErrorAt < 60_000 ? "#e15759" : "#2e8b57";
  const table = (caption: string, rows: Row[]) => `<table style="border-collapse:collapse;font:13px sans-serif;margin-bottom:8px">` +
    `<caption style="text-align:left;font-weight:bold;padding-bottom:4px">${caption}</caption>` +
    rows.map(([k, v, h]) => `<tr><td style="padding:2px 12px 2px 0;color:#555;vertical-align:top;white-space:nowrap">${escapeHtml(k)}</td>` +
      `<td style="padding:2px 0">${h ?? escapeHtml(v)}</td></tr>`).join("") + `</table>`;
  const lines = (rows: Row[]) => rows.map(([k, v]) => `${k.padEnd(18)} ${v}`);
  if (!options.campaign) {
    return rendered(table(`<span style="color:${dot}">●</span> Sentinel status`, sentinelRows), lines(sentinelRows).join("\n"));
  }
  const title = options.title ?? "Campaign status";
  const jobs = campaignRows(options.campaign);
  const html = `<div>${table(escapeHtml(title), jobs)}${table(`<span style="color:${dot}">●</span> Sentinel and watcher`, sentinelRows)}</div>`;
  return rendered(html, [`${title}`, ...lines(jobs), "", ...lines(sentinelRows)].join("\n"), options.campaign);
}
