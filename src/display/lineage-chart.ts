import { causeOutcome, type AttemptOutcome } from "../queue/failure-causes";
import { describeParamChange, type Lineage, type LineageEvent } from "../queue/lineage";
import { colorScale, OUTCOME_COLORS } from "./colors";
import { figureHtml, Plot, plotDocument } from "./dom";
import { escapeHtml, rendered, type Rendered } from "./show";

/** One attempt of one job, as a bar: from its claim to how it ended. */
export interface AttemptBar {
  job: string;
  attempt: number;
  /** Epoch ms (Redis clock). */
  start: number;
  end: number;
  outcome: AttemptOutcome;
  worker?: string;
  task?: string;
  /** The parameter change the retry after this attempt made, e.g. "delay_seconds 8→0, walltime 3→6". */
  change?: string;
  /** Why it ended: the error it threw, or for a dead-lettered attempt the dead-letter reason (which carries the last error). */
  error?: string;
  /** A dead-lettered attempt's own error message (without the reason around it), for the note beside its row. */
  lastError?: string;
}


function change(ev: LineageEvent): string | undefined {
  return describeParamChange(ev.params);
}

/** Every attempt of the given jobs, from their lineage events. An attempt still in progress ends at `now`. */
export function attemptBars(lineages: Lineage[], now = Date.now()): AttemptBar[] {
  const bars: AttemptBar[] = [];
  for (const l of lineages) {
    const open = new Map<number, AttemptBar>();
    for (const ev of l.events) {
      const a = ev.a ?? 0;
      if (ev.e === "claimed") {
        const bar: AttemptBar = { job: l.jobId, attempt: a, start: ev.t, end: ev.t, outcome: "running", worker: ev.w, task: ev.task };
        open.set(a, bar);
        bars.push(bar);
        continue;
      }
      const bar = open.get(a);
      if (!bar) continue;
      if (ev.e === "completed") bar.outcome = "completed";
      else if (ev.e === "requeued") {
        bar.outcome = causeOutcome(ev.cause ?? "");
        bar.change = change(ev);
        bar.error = ev.error;
      } else if (ev.e === "dead") {
        bar.outcome = "dead-lettered";
        // the reason carries the last error since issue 13; an older record's error is added to it
        bar.error = ev.why && ev.error && !ev.why.includes(ev.error) ? `${ev.why}: ${ev.error}` : (ev.why ?? ev.error);
        bar.lastError = ev.error ?? ev.why;
      } else if (ev.e === "released") bar.outcome = "released";
      else continue;
      bar.end = ev.t;
      open.delete(a);
    }
    for (const bar of open.values()) bar.end = now;
  }
  return bars;
}

/**
 * Job lineage: every attempt as a bar on a time axis (claimed → ended), coloured by outcome, with each
 * retry's parameter change written beside the attempt that led to it. Above `maxBars` attempts, a
 * histogram of attempt outcomes over time instead (still fast with 100 000 jobs).
 */
export function lineageView(lineages: Lineage[], options: { title?: string; width?: number; maxBars?: number; now?: number } = {}): Rendered {
  const bars = attemptBars(lineages, options.now);
  const title = options.title ?? (lineages.length === 1 ? `Lineage of job ${lineages[0].jobId}` : `Lineage of ${lineages.length.toLocaleString("en-US")} jobs`);
  const text = [
    `${title}: ${bars.length} attempt(s)`,
    ...bars.slice(0, 50).map((b) => `  ${b.job} #${b.attempt}: ${b.outcome}, ${((b.end - b.start) / 1000).toFixed(2)} s` +
      `${b.worker ? ` on ${b.worker}` : ""}${b.change ? `; retried with ${b.change}` : ""}${b.error ? ` (${b.error})` : ""}`),
    ...(bars.length > 50 ? [`  … and ${bars.length - 50} more`] : []),
  ].join("\n");
  if (bars.length === 0) return rendered(`<p><b>${escapeHtml(title)}</b>: no attempts recorded yet</p>`, text);
  let t0 = Infinity;
  for (const b of bars) if (b.start < t0) t0 = b.start;
  const outcomes = new Set(bars.map((b) => b.outcome));
  const color = { ...colorScale(OUTCOME_COLORS, outcomes), legend: true, label: "outcome" };
  const x = { label: "time since the first claim (s)", grid: true };
  const maxBars = options.maxBars ?? 400;
  let chart: Element;
  if (bars.length <= maxBars) {
    let span = 0;
    for (const b of bars) span = Math.max(span, (b.end - t0) / 1000);
    const minWidth = Math.max(span * 0.008, 0.001); // a 10 ms attempt stays visible on a 10 min axis
    const data = bars.map((b) => ({ ...b, x1: (b.start - t0) / 1000, x2: Math.max((b.end - t0) / 1000, (b.start - t0) / 1000 + minWidth) }));
    const jobs = [...new Set(data.map((d) => d.job))];
    const rows = jobs.length;
    // each job's retries in the right margin, one line per step: "#1→#2: tolerance 1→2", "#2→#3: …"
    // and, for a job given up on, the error of its last attempt: why it failed, without hovering
    const steps = jobs.map((job) => data.filter((d) => d.job === job && (d.change || d.outcome === "dead-lettered")).map((d) =>
      d.outcome === "dead-lettered" ? `#${d.attempt} dead-lettered${d.lastError ? `: ${d.lastError}` : ""}` : `#${d.attempt}→#${d.attempt + 1}: ${d.change}`));
    const notes = jobs.map((job, i) => ({ job, lines: steps[i], text: steps[i].join("\n") })).filter((n) => n.lines.length > 0);
    const maxLines = Math.max(1, ...notes.map((n) => n.lines.length));
    // a row is as tall as its notes (up to a 900 px chart); the margin as wide as the longest line (up to 480 px)
    const rowHeight = Math.max(28, Math.min(maxLines * 13 + 10, Math.floor((900 - 90) / rows)));
    const fitsLines = Math.max(1, Math.floor((rowHeight - 6) / 13));
    const longest = Math.max(0, ...notes.flatMap((n) => n.lines.map((l) => l.length)));
    const marginRight = notes.length > 0 ? Math.min(480, Math.max(160, Math.ceil(longest * 6.2) + 24)) : 20;
    const room = Math.floor((marginRight - 24) / 6.2);
    const clipLine = (t: string) => (t.length > room ? `${t.slice(0, room - 1)}…` : t);
    const shown = (n: { lines: string[] }) => {
      const lines = n.lines.length <= fitsLines ? n.lines : [...n.lines.slice(0, fitsLines - 1), `… ${n.lines.length - fitsLines + 1} more step(s)`];
      return lines.map(clipLine).join("\n");
    };
    const width = options.width ?? Math.max(900, 560 + marginRight);
    const marginLeft = rows <= 40 ? 110 : 20;
    // "#n" goes inside its bar (white) when the bar is wide enough for it, else just after it (dark): a
    // short attempt's label must not spill white onto the white background. The x domain is set, so a
    // bar's width in pixels is known here.
    let lastEnd = 0;
    for (const d of data) lastEnd = Math.max(lastEnd, d.x2);
    // room for one label after the last bar, inside the plot (the margin holds the retry notes)
    const inner = width - marginLeft - marginRight;
    const xEnd = (lastEnd || 1) / (1 - 30 / inner);
    const pxPerSecond = inner / xEnd;
    const labelFits = (d: AttemptBar & { x1: number; x2: number }) => (d.x2 - d.x1) * pxPerSecond >= `#${d.attempt}`.length * 6 + 6;
    const labelled = rows <= 15 ? data : [];
    chart = Plot.plot({
      document: plotDocument(),
      width,
      height: Math.min(900, 90 + rows * rowHeight),
      marginLeft,
      marginRight,
      title,
      subtitle: notes.length > 0 ? (data.some((d) => d.outcome === "dead-lettered") ? "right: what each retry changed, and why a job was given up on (hover a bar for its error)"
        : "right: what each retry changed (hover a bar for its error)") : undefined,
      x: { ...x, domain: [0, xEnd] },
      y: { label: null, axis: rows <= 40 ? "left" : null, domain: jobs },
      color,
      marks: [
        Plot.barX(data, { x1: "x1", x2: "x2", y: "job", fill: "outcome", insetTop: 3, insetBottom: 3, insetRight: 1, title: (d: AttemptBar & { x1: number; x2: number }) =>
          `${d.job} attempt ${d.attempt}: ${d.outcome}, ${((d.end - d.start) / 1000).toFixed(2)} s${d.worker ? `\nworker ${d.worker}` : ""}` +
          `${d.task ? ` [${d.task}]` : ""}${d.change ? `\nretried with ${d.change}` : ""}${d.error ? `\n${d.error}` : ""}` }),
        Plot.text(labelled.filter(labelFits), { x: "x1", y: "job", text: (d: AttemptBar) => `#${d.attempt}`, dx: 3, textAnchor: "start", fill: "white", fontSize: 9 }),
        Plot.text(labelled.filter((d) => !labelFits(d)), { x: "x2", y: "job", text: (d: AttemptBar) => `#${d.attempt}`, dx: 3, textAnchor: "start", fill: "#333", fontSize: 9 }),
        Plot.text(notes, { y: "job", text: shown, title: (n: { text: string }) => n.text, frameAnchor: "right", dx: 8, textAnchor: "start", fontSize: 10, lineHeight: 1.25 }),
      ],
    }) as unknown as Element;
  } else {
    const data = bars.map((b) => ({ end: (b.end - t0) / 1000, outcome: b.outcome }));
    chart = Plot.plot({
      document: plotDocument(),
      width: options.width ?? 760,
      height: 260,
      marginLeft: 60,
      title,
      subtitle: `${bars.length.toLocaleString("en-US")} attempts: too many for a bar each, so attempts ending per time bin`,
      x,
      y: { label: "attempts ended", grid: true },
      color,
      marks: [Plot.rectY(data, Plot.binX({ y: "count" }, { x: "end", fill: "outcome", thresholds: 60 } as never)), Plot.ruleY([0])],
    }) as unknown as Element;
  }
  return rendered(figureHtml(chart), text);
}
