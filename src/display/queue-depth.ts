import type { DepthSample } from "../campaign/depth";
import { colorScale, CUMULATIVE_COLORS, QUEUE_COLORS } from "./colors";
import { figureHtml, Plot, plotDocument } from "./dom";
import { escapeHtml, rendered, type Rendered } from "./show";

const SERIES = ["processing", "working", "completed", "dead", "quarantine"] as const;
/** The lists whose depth comes and goes (stacked in the lower panel); dead and quarantine only grow, and are drawn above. */
const TRANSIENT = ["processing", "working", "completed"] as const;
/** Legend labels a scientist reads: what each list means for the jobs in it. */
const TRANSIENT_LABELS: Record<(typeof TRANSIENT)[number], string> = {
  processing: "waiting (processing + backing off)",
  working: "running (working)",
  completed: "finished, being recorded (completed list)",
};
const CUMULATIVE = [["succeeded", "succeeded"], ["deadLettered", "dead-lettered"], ["retried", "retried"]] as const;

/** The values the chart draws: the cumulative counters and the stacked list depths, each up to "now". */
export interface QueueDepthData {
  /** Seconds since the first sample of the last point drawn: the last sample's time ("now"). */
  now: number;
  /** Cumulative counters (step lines): `series` is `succeeded`, `dead-lettered` or `retried`; empty if the samples have none. */
  cumulative: { t: number; series: string; count: number }[];
  /** List depths (stacked areas): `series` is the list's legend label. */
  depths: { t: number; series: string; count: number }[];
  /** The highest stacked total of the depths (the lower panel's y domain reaches it). */
  top: number;
}

/** At most `max` samples, keeping each bucket's largest list depths (peaks stay visible), its last counters, and the last sample exactly. */
export function downsample(samples: DepthSample[], max = 600): DepthSample[] {
  if (samples.length <= max) return samples;
  const size = Math.ceil(samples.length / max);
  const out: DepthSample[] = [];
  for (let i = 0; i < samples.length - 1; i += size) {
    const bucket = samples.slice(i, Math.min(i + size, samples.length - 1));
    const peak = { ...bucket[bucket.length - 1] };
    for (const k of SERIES) peak[k] = Math.max(...bucket.map((b) => b[k]));
    out.push(peak);
  }
  out.push(samples[samples.length - 1]); // the header's numbers and the chart's last values agree
  return out;
}

const fmt = (n: number) => n.toLocaleString("en-US");

/**
 * Queue depth: the current count of each list, and, from the samples the graph keeps while it runs, two
 * panels on one time axis. Above, what has happened since the start (cumulative, as bull-board and
 * Flower show): jobs succeeded, dead-lettered and retried (a dot at each time a retry or a dead letter
 * happened), each line labelled with its value now. Below, what is in the lists now: waiting, running and
 * finished-but-being-recorded jobs, stacked. Every line and area is carried to the last sample ("now").
 */
export function queueDepthView(samples: DepthSample[], options: { title?: string; width?: number } = {}): Rendered {
  const title = options.title ?? "Queue depth";
  const last = samples[samples.length - 1];
  const counts = last ? SERIES.map((k) => `${k} ${fmt(last[k])}`).join(" · ") : "no samples yet";
  const hasTotals = last !== undefined && last.succeeded !== undefined;
  const totals = hasTotals ? `${fmt(last.succeeded ?? 0)} succeeded · ${fmt(last.deadLettered ?? 0)} dead-lettered · ${fmt(last.retried ?? 0)} retried` : "";
  const text = `${title}: ${counts}${samples.length > 1 ? ` (${samples.length} samples over ${((last.t - samples[0].t) / 1000).toFixed(0)} s)` : ""}` +
    (hasTotals ? `\n  since the start: ${totals}` : "");
  if (samples.length === 0) return rendered(`<p><b>${escapeHtml(title)}</b>: no samples yet</p>`, text);
  const t0 = samples[0].t;
  // samples taken within the same millisecond (an explicit sample beside the sampler's) would stack twice
  const points = downsample(samples.filter((sm, i) => i === samples.length - 1 || samples[i + 1].t !== sm.t));
  const now = (last.t - t0) / 1000;
  const depths = points.flatMap((s) => TRANSIENT.map((k) => ({ t: (s.t - t0) / 1000, series: TRANSIENT_LABELS[k], count: s[k] })));
  const cumulative = hasTotals
    ? points.flatMap((s) => CUMULATIVE.map(([k, series]) => ({ t: (s.t - t0) / 1000, series, count: s[k] ?? 0 })))
    : [];
  let top = 0;
  for (const s of points) top = Math.max(top, TRANSIENT.reduce((a, k) => a + s[k], 0));
  const data: QueueDepthData = { now, cumulative, depths, top };
  // the last step is drawn up to "now" and a little beyond, so that a value that just changed is visible
  const end = now + Math.max(0.05, now * 0.03);
  const carried = <T extends { t: number }>(rows: T[]) => [...rows, ...rows.filter((r) => r.t === now).map((r) => ({ ...r, t: end }))];
  const width = options.width ?? 760;
  const x = { label: "time since first sample (s)", grid: true, domain: [0, end] };
  const nowRule = Plot.ruleX([now], { stroke: "#999", strokeDasharray: "3,3" });
  const figures: string[] = [];
  if (hasTotals) {
    // end labels of equal (or nearly equal) counts would print on top of each other: stagger them downwards
    const yMax = Math.max(1, ...CUMULATIVE.map(([k]) => last[k] ?? 0));
    const lastValues: { t: number; series: string; count: number; dy: number }[] = [];
    for (const [k, series] of CUMULATIVE) {
      const count = last[k] ?? 0;
      const near = lastValues.filter((l) => Math.abs(l.count - count) <= 0.06 * yMax).length;
      lastValues.push({ t: now, series, count, dy: near * 13 });
    }
    // a dot where a retry or a dead letter happened (the counter rose since the previous sample)
    const events: { t: number; series: string; count: number }[] = [];
    for (let i = 1; i < points.length; i++) {
      for (const [k, series] of CUMULATIVE.slice(1)) {
        if ((points[i][k] ?? 0) > (points[i - 1][k] ?? 0)) events.push({ t: (points[i].t - t0) / 1000, series, count: points[i][k] ?? 0 });
      }
    }
    const upper = Plot.plot({
      document: plotDocument(),
      width,
      height: 220,
      marginLeft: 60,
      marginRight: 130,
      title,
      subtitle: `since the start: ${totals}`,
      x: { ...x, label: null },
      y: { label: "jobs (cumulative)", grid: true, nice: true, zero: true, tickFormat: "~s" },
      color: { ...colorScale(CUMULATIVE_COLORS), legend: true },
      marks: [
        Plot.lineY(carried(cumulative), { x: "t", y: "count", stroke: "series", curve: "step-after", strokeWidth: 2 }),
        Plot.dot(events, { x: "t", y: "count", fill: "series", r: 2.5 }),
        ...lastValues.map((l) => Plot.text([l], { x: end, y: "count", text: (d: { series: string; count: number }) => `${fmt(d.count)} ${d.series}`, fill: "series",
          textAnchor: "start", dx: 4, dy: l.dy, fontSize: 11 })),
        nowRule,
        Plot.ruleY([0]),
      ],
    }) as unknown as Element;
    figures.push(figureHtml(upper));
  }
  const lower = Plot.plot({
    document: plotDocument(),
    width,
    height: hasTotals ? 200 : 260,
    marginLeft: 60,
    marginRight: hasTotals ? 130 : 60,
    title: hasTotals ? undefined : title,
    subtitle: hasTotals ? `in the lists now: ${counts}` : `now: ${counts}`,
    x,
    y: { label: "messages", grid: true, nice: true, domain: [0, Math.max(1, top, hasTotals ? 0 : Math.max(...points.map((s) => s.dead)))], tickFormat: "~s" },
    // the completed list in a lighter green than the succeeded line: jobs passing through, not the total
    color: { domain: TRANSIENT.map((k) => TRANSIENT_LABELS[k]), range: [QUEUE_COLORS.processing, QUEUE_COLORS.working, "#8cd17d"], legend: true },
    marks: [
      Plot.areaY(carried(depths), Plot.stackY({ x: "t", y: "count", fill: "series", order: TRANSIENT.map((k) => TRANSIENT_LABELS[k]), curve: "step-after" } as never)),
      // samples without the counters (older callers): the dead-letter list's length is still drawn, as a line
      ...(hasTotals ? [] : [Plot.lineY(carried(points.map((s) => ({ t: (s.t - t0) / 1000, count: s.dead }))), { x: "t", y: "count", stroke: QUEUE_COLORS.dead,
        strokeWidth: 2, curve: "step-after" }), Plot.text([{ t: end, count: last.dead }], { x: "t", y: "count", text: (d: { count: number }) => `${fmt(d.count)} dead`,
        textAnchor: "start", dx: 4, fontSize: 11, fill: QUEUE_COLORS.dead })]),
      nowRule,
      Plot.ruleY([0]),
    ],
  }) as unknown as Element;
  figures.push(figureHtml(lower));
  return rendered(`<div class="autocnet-queue-depth">${figures.join("")}</div>`, text, data);
}
