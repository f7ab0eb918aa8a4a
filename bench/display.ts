import type { DepthSample } from "../src/campaign/depth";
import { lineageView, queueDepthView } from "../src/display";
import type { Lineage } from "../src/queue/lineage";
import { figure, type Figure } from "./stats";

/** 100 000 jobs' lineages as the queues record them: most complete first time, 5 % after a walltime retry. */
export function syntheticLineages(n: number): Lineage[] {
  const out: Lineage[] = [];
  for (let i = 0; i < n; i++) {
    const t = 1_000_000 + i * 3;
    const events: Lineage["events"] = [{ t, e: "claimed", a: 1, w: `w${i % 200}` }];
    if (i % 20 === 0) {
      events.push({ t: t + 600, e: "requeued", a: 1, cause: "walltime", params: { from: { walltime: 1 }, to: { walltime: 2 } } });
      events.push({ t: t + 700, e: "claimed", a: 2, w: `w${(i + 1) % 200}` }, { t: t + 710, e: "completed", a: 2 });
    } else events.push({ t: t + 5, e: "completed", a: 1 });
    out.push({ jobId: `bench-${i}`, outcome: "completed", events });
  }
  return out;
}

/** One queue-depth sample a second while 100 000 jobs drain (a 28-hour campaign's worth of samples). */
export function syntheticSamples(n: number): DepthSample[] {
  return Array.from({ length: n }, (_, i) => ({
    t: 1_000_000 + i * 1000, processing: n - i, working: 200, completed: i % 50, dead: Math.floor(i / 1000), quarantine: 0,
  }));
}

export interface DisplayFigures { jobs: number; lineage_ms: Figure; queue_depth_ms: Figure; render_ms: number }

/** Milliseconds to render the lineage and queue-depth displays for `n` jobs (data already in memory). */
export function benchDisplay(n: number, runs = 3): DisplayFigures {
  const lineages = syntheticLineages(n);
  const samples = syntheticSamples(n);
  lineageView(lineages.slice(0, 10)); // warm up Plot and the DOM
  const lineage: number[] = [], depth: number[] = [];
  for (let r = 0; r < runs; r++) {
    let t0 = performance.now();
    const l = lineageView(lineages);
    lineage.push(performance.now() - t0);
    t0 = performance.now();
    const d = queueDepthView(samples);
    depth.push(performance.now() - t0);
    if (!l.html.includes("<svg") || !d.html.includes("<svg")) throw new Error("display bench: no chart rendered");
  }
  const res = { jobs: n, lineage_ms: figure(lineage), queue_depth_ms: figure(depth) };
  return { ...res, render_ms: Math.max(res.lineage_ms.median, res.queue_depth_ms.median) };
}
