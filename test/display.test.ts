import { describe, expect, it, vi } from "vitest";
import type { DepthSample } from "../src/campaign/depth";
import { attemptBars, downsample, footprintMap, lineageView, progressView, queueDepthView, sentinelStatusView, show } from "../src/display";
import type { EdgeAttributes, NodeAttributes } from "../src/graph";
import type { Lineage } from "../src/queue/lineage";

const retried: Lineage = {
  jobId: "abc-7", func: "overlap", outcome: "completed", applyId: "abc",
  events: [
    { t: 1000, e: "submitted", a: 1 },
    { t: 1100, e: "claimed", a: 1, w: "node1-1", task: "local-1_1" },
    { t: 4100, e: "requeued", a: 1, cause: "walltime", next: 2, params: { from: { delay_seconds: 8, walltime: 3 }, to: { delay_seconds: 0, walltime: 6 } } },
    { t: 4300, e: "claimed", a: 2, w: "node1-2" },
    { t: 4310, e: "completed", a: 2 },
  ],
};
const killed: Lineage = {
  jobId: "abc-8", outcome: "dead",
  events: [
    { t: 1000, e: "claimed", a: 1, w: "w1" },
    { t: 2000, e: "requeued", a: 1, cause: "heartbeat" },
    { t: 2100, e: "claimed", a: 2, w: "w2" },
    { t: 2500, e: "requeued", a: 2, cause: "exception", error: "boom" },
    { t: 2600, e: "claimed", a: 3, w: "w2" },
    { t: 2700, e: "dead", a: 3, cause: "exception", why: "failed 3 time(s), maxfailures is 3" },
  ],
};

const samples = (n: number): DepthSample[] => Array.from({ length: n }, (_, i) => ({
  t: 1_000_000 + i * 1000, processing: Math.max(0, 500 - i * 5), working: i % 7, completed: 0, dead: Math.floor(i / 50), quarantine: 0,
}));

describe("displays", () => {
  it("queue depth: a stacked area chart with title, axes labels, legend and the current counts", () => {
    const r = queueDepthView(samples(120), { title: "Queue depth — ctx" });
    expect(r.html).toContain("<svg");
    expect(r.html).toContain("Queue depth — ctx");
    expect(r.html).toContain("time since first sample (s)");
    expect(r.html).toContain("messages");
    for (const k of ["processing", "working", "dead", "quarantine"]) expect(r.html).toContain(k);
    expect(r.text).toMatch(/^Queue depth — ctx: processing 0 · working 0 · completed 0 · dead 2 · quarantine 0 \(120 samples over 119 s\)$/);
    expect(queueDepthView([]).text).toContain("no samples yet");
  });

  it("queue depth: 100 000 samples are downsampled, keeping peaks", () => {
    const many = samples(100_000);
    many[50_001].processing = 99_999;
    const d = downsample(many);
    expect(d.length).toBeLessThanOrEqual(600);
    expect(Math.max(...d.map((s) => s.processing))).toBe(99_999);
  });

  it("lineage: one bar per attempt, coloured by outcome, the retry's parameter change labelled", () => {
    const bars = attemptBars([retried, killed]);
    expect(bars.map((b) => [b.job, b.attempt, b.outcome])).toEqual([
      ["abc-7", 1, "walltime exceeded"], ["abc-7", 2, "completed"],
      ["abc-8", 1, "heartbeat lost"], ["abc-8", 2, "failed"], ["abc-8", 3, "dead-lettered"],
    ]);
    expect(bars[0].change).toBe("delay_seconds 8→0, walltime 3→6");
    const r = lineageView([retried, killed]);
    expect(r.html).toContain("<svg");
    expect(r.html).toContain("#1→#2: delay_seconds 8→0, walltime 3→6");
    expect(r.html).toContain("time since the first claim (s)");
    for (const outcome of ["walltime exceeded", "completed", "heartbeat lost", "failed", "dead-lettered"]) expect(r.html).toContain(outcome);
    expect(r.text).toContain("abc-7 #1: walltime exceeded, 3.00 s on node1-1; retried with delay_seconds 8→0, walltime 3→6");
  });

  it("lineage: '#n' sits inside a bar wide enough for it, after a short one (never white on the white background)", () => {
    const job: Lineage = { jobId: "w-1", outcome: "completed", events: [
      { t: 0, e: "claimed", a: 1 }, { t: 60_000, e: "requeued", a: 1, cause: "walltime" },
      { t: 60_500, e: "claimed", a: 2 }, { t: 60_600, e: "completed", a: 2 },
    ] };
    const html = lineageView([job]).html;
    // the text marks' groups: <g ... fill="white" ...><text ...>#1</text></g>
    const group = (fill: string) => new RegExp(`<g[^>]*fill="${fill}"[^>]*>(.*?)</g>`, "s").exec(html)?.[1] ?? "";
    const labels = (fill: string) => [...group(fill).matchAll(/>(#\d+)</g)].map((m) => m[1]);
    expect(labels("white")).toEqual(["#1"]); // a minute-long attempt: inside
    expect(labels("#333")).toEqual(["#2"]); // a tenth of a second: after its bar
  });

  it("lineage: an attempt still running ends now; many attempts become a histogram", () => {
    const running: Lineage = { jobId: "x-1", outcome: "pending", events: [{ t: 0, e: "claimed", a: 1 }] };
    expect(attemptBars([running], 5000)[0]).toMatchObject({ outcome: "running", end: 5000 });
    const many = Array.from({ length: 5000 }, (_, i) => ({ ...retried, jobId: `m-${i}` }));
    const r = lineageView(many);
    expect(r.html).toContain("attempts ending per time bin");
    expect(r.text).toContain("10000 attempt(s)");
  });

  it("footprint map: footprints and overlaps on lon/lat, coloured by jobStatus", () => {
    const sq = (x: number, y: number) => [[[[x, y], [x + 2, y], [x + 2, y + 2], [x, y + 2], [x, y]]]] as [number, number][][][];
    const nodes: NodeAttributes[] = [
      { id: 1, name: "A", footprint: sq(140, -5), jobStatus: {} },
      { id: 2, name: "B", footprint: sq(141, -4), jobStatus: {} },
    ];
    const edges: EdgeAttributes[] = [{
      source: 1, destination: 2, overlap: [[[[141, -4], [142, -4], [142, -3], [141, -3], [141, -4]]]], overlapArea: 1,
      jobStatus: { overlap: { success: true, attempts: 1, finishedAt: "" } },
    }];
    const r = footprintMap(nodes, edges, { func: "overlap" });
    expect(r.html).toContain("<svg");
    expect(r.html).toContain("jobStatus.overlap");
    expect(r.html).toMatch(/°E/);
    expect((r.html.match(/<path/g) ?? []).length).toBeGreaterThanOrEqual(3);
    expect(r.text).toBe("Footprints and overlaps, coloured by jobStatus.overlap: 2 footprints, 1 overlaps (1 succeeded, 0 failed, 0 not run)");
  });

  it("sentinel status and progress read well as text and HTML", () => {
    const s = sentinelStatusView({ running: true, leader: true, sweeps: 12, lastSweepAt: 9000, lastSweepMs: 3, requeued: 2, deadLettered: 1,
      quarantined: 0, adopted: 0, errors: 1, lastError: "WRONGTYPE", lastErrorAt: 8000 }, undefined, { now: 10_000 });
    expect(s.text).toContain("sentinel           running (sweeping)");
    expect(s.text).toContain("last sweep         1.0 s ago (took 3 ms)");
    expect(s.text).toContain("errors             1 — last: WRONGTYPE (2.0 s ago)");
    expect(s.html).toContain("<table");
    const p = progressView({ total: 200, completed: 150, dead: 10 }, { title: "overlap", startedAt: 0, now: 4000 });
    expect(p.text).toBe("overlap [########################------] 150 completed, 10 dead-lettered of 200 (80.0 %), 4.0 s, 40 jobs/s");
    expect(p.html).toContain("width:75.00%");
  });

  it("show() prints the text form outside a notebook kernel", () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    show(progressView({ total: 1, completed: 1, dead: 0 }));
    expect(log).toHaveBeenCalledWith(expect.stringContaining("1 completed, 0 dead-lettered of 1 (100.0 %)"));
    log.mockRestore();
  });
});
