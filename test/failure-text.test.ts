import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lineageView } from "../src/display/lineage-chart";
import { formatLineage, readLineage } from "../src/queue/lineage";
import { errorSummary } from "../src/worker/retry";
import { Worker } from "../src/worker/worker";
import type { QueueConnection } from "../src/worker/connection";
import { openTest } from "./helpers";

// Issue 13 item 3: why did it fail? The dead-letter reason carries the last error; the lineage chart's
// bars carry their error as a title; every retry step is annotated, without internal fields.

let conn: QueueConnection;
beforeEach(async () => {
  conn = await openTest({ cluster: { retry_backoff: 0 } });
});
afterEach(async () => {
  await conn.close();
});

/** The chart's SVG, parsed: each bar's <title>, and each text mark's lines (its tspans, or its text). */
function parseChart(html: string) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseHTML } = require("linkedom") as { parseHTML: (h: string) => { document: Document } };
  const { document } = parseHTML(`<!doctype html><html><body>${html}</body></html>`);
  const bars = [...document.querySelectorAll('g[aria-label="bar"] rect')].map((r) => r.querySelector("title")?.textContent ?? "");
  const texts = [...document.querySelectorAll('g[aria-label="text"] text')].map((t) => {
    const spans = [...t.querySelectorAll("tspan")].map((s) => s.textContent ?? "");
    return spans.length > 0 ? spans : [[...t.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join("")];
  });
  return { bars, texts };
}

describe("failure text", () => {
  it("a dead-lettered job: its reason carries the last error, its bar's title the error, the text form too", async () => {
    const sub = await conn.queues.submit("boom", [9]);
    await new Worker(conn.queues, conn.registry, conn.blocking, { idleSeconds: 0.2, log: () => {} }).run();
    const [dead] = await conn.queues.deadLetters();
    expect(dead.reason).toBe("failed 3 time(s), maxfailures is 3 (cause: exception): boom on attempt 3");
    const lineage = await readLineage(conn.queues, sub.jobId(0));
    const { bars, texts } = parseChart(lineageView([lineage]).html);
    expect(bars).toHaveLength(3);
    // every failed attempt's bar carries its own error; the dead one the reason with the last error
    expect(bars[0]).toContain("boom on attempt 1");
    expect(bars[1]).toContain("boom on attempt 2");
    expect(bars[2]).toContain("failed 3 time(s), maxfailures is 3 (cause: exception): boom on attempt 3");
    // and the note beside its row says why, without hovering
    expect(texts.flat()).toContain("#3 dead-lettered: boom on attempt 3");
    expect(formatLineage(lineage)).toMatch(/dead #3 .*maxfailures is 3 \(cause: exception\): boom on attempt 3/);
  });

  it("a ladder: every retry step is annotated (#1→#2, #2→#3, …), without param_step or a cut", async () => {
    const sub = await conn.queues.submit("ring_match", [1], { kwargs: { target_points: 25, tolerance: 1 } });
    await new Worker(conn.queues, conn.registry, conn.blocking, { idleSeconds: 0.2, log: () => {} }).run();
    const lineage = await readLineage(conn.queues, sub.jobId(0));
    expect(lineage.outcome).toBe("completed");
    const requeued = lineage.events.filter((e) => e.e === "requeued");
    expect(requeued.map((e) => e.params?.to.param_step)).toEqual([1, 2]); // the data has it: the display must not show it
    const { bars, texts } = parseChart(lineageView([lineage]).html);
    const expected = requeued.map((e) => `#${e.a}→#${e.a! + 1}: target_points ${e.params!.from.target_points}→${e.params!.to.target_points}, ` +
      `tolerance ${e.params!.from.tolerance}→${e.params!.to.tolerance}`);
    expect(expected).toEqual(["#1→#2: target_points 25→20, tolerance 1→2", "#2→#3: target_points 20→15, tolerance 2→3"]);
    const note = texts.find((lines) => lines[0]?.startsWith("#1→#2"));
    expect(note).toEqual(expected);
    expect(texts.flat().join(" ")).not.toMatch(/param_step|…/);
    // the failed attempts' bars carry their error
    expect(bars[0]).toContain("no match at tolerance 1");
    expect(bars[1]).toContain("no match at tolerance 2");
    // the text forms: every step, no param_step
    const text = formatLineage(lineage);
    for (const step of ["target_points 25→20, tolerance 1→2", "target_points 20→15, tolerance 2→3"]) expect(text).toContain(`retried with ${step}`);
    expect(text).not.toContain("param_step");
    expect(lineageView([lineage]).text).toContain("#2: failed");
  });

  it("error summaries: one line, a traceback's last line, cut at a word near 200 characters", () => {
    expect(errorSummary("ValueError: only 5 of 15 points matched")).toBe("ValueError: only 5 of 15 points matched");
    expect(errorSummary("Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad")).toBe("ValueError: bad");
    const long = `ValueError: ${"word ".repeat(100)}`;
    const s = errorSummary(long);
    expect(s.length).toBeLessThanOrEqual(200);
    expect(s.endsWith("…")).toBe(true);
    expect(s.slice(0, -1).endsWith("word")).toBe(true);
  });
});
