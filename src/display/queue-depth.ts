import type { DepthSample } from "../campaign/depth";
import { colorScale, QUEUE_COLORS } from "./colors";
import { Plot, plotDocument } from "./dom";
import { escapeHtml, rendered, type Rendered } from "./show";

const SERIES = ["processing", "working", "completed", "dead", "quarantine"] as const;

/** At most `max` samples, keeping each bucket's largest values (peaks stay visible). */
export function downsample(samples: DepthSample[], max = 600): DepthSample[] {
  if (samples.length <= max) return samples;
  const size = Math.ceil(samples.length / max);
  const out: DepthSample[] = [];
  for (let i = 0; i < samples.length; i += size) {
    const bucket = samples.slice(i, i + size);
    const peak = { ...bucket[bucket.length - 1] };
    for (const k of SERIES) peak[k] = Math.max(...bucket.map((b) => b[k]));
    out.push(peak);
  }
  return out;
}

/**
 * Queue depth: the current count of each list, and, from the samples the graph keeps while it runs,
 * the depth over time as a stacked area chart.
 */
export function queueDepthView(samples: DepthSample[], options: { title?: string; width?: number } = {}): Rendered {
  const title = options.title ?? "Queue depth";
  const last = samples[samples.length - 1];
  const counts = last ? SERIES.map((k) => `${k} ${last[k].toLocaleString("en-US")}`).join(" · ") : "no samples yet";
  const text = `${title}: ${counts}${samples.length > 1 ? ` (${samples.length} samples over ${((last.t - samples[0].t) / 1000).toFixed(0)} s)` : ""}`;
  if (samples.length === 0) return rendered(`<p><b>${escapeHtml(title)}</b>: no samples yet</p>`, text);
  const t0 = samples[0].t;
  const points = downsample(samples);
  const long = points.flatMap((s) => SERIES.map((series) => ({ t: (s.t - t0) / 1000, series, count: s[series] })));
  let top = 1;
  for (const s of points) top = Math.max(top, SERIES.reduce((a, k) => a + s[k], 0));
  const chart = Plot.plot({
    document: plotDocument(),
    width: options.width ?? 720,
    height: 260,
    marginLeft: 60,
    title,
    subtitle: `now: ${counts}`,
    x: { label: "time since first sample (s)", grid: true },
    y: { label: "messages", grid: true, domain: [0, top], tickFormat: "~s" },
    color: { ...colorScale(QUEUE_COLORS), legend: true },
    marks: [
      Plot.areaY(long, Plot.stackY({ x: "t", y: "count", fill: "series", order: [...SERIES], curve: "step-after" } as never)),
      Plot.ruleY([0]),
    ],
  }) as unknown as Element;
  return rendered(chart.outerHTML, text);
}
