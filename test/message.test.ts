import { describe, expect, it } from "vitest";
import { decodeMessage, encodeMessage, firstAttemptEncoder, nextAttempt } from "../src/queue/message";

const edge = {
  job_id: "mk3f9a2x-123456", id: [1234, 5678] as [number, number], along: "edge", func: "overlap",
  args: [], kwargs: {}, walltime: 600, count: 0, attempt: 1,
};

describe("message protocol", () => {
  it("keeps a plain edge message within 256 bytes, job_id first", () => {
    const text = encodeMessage(edge);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(256);
    expect(text.startsWith('{"job_id":')).toBe(true);
    // issue 12: AutoCNet's worker reads msg['args'] and msg['kwargs'] unconditionally, so both are always written
    expect(text).toContain('"args":[],"kwargs":{}');
  });

  it("the fast first-attempt encoder gives exactly what encodeMessage gives", () => {
    const cases = [
      { along: "edge", func: "overlap", args: [], kwargs: {}, walltime: 600 },
      { along: "node", func: "f", args: [1, "a"], kwargs: { tolerance: 2, name: "x\"y" }, walltime: 86400 },
    ];
    for (const fixed of cases) {
      const enc = firstAttemptEncoder(fixed);
      for (const id of [[1, 2], 7, "img-3", [1.5, -2], ["a", "b"], [1, 2, 3]] as const) {
        expect(enc("ab12cd34-9", id as never)).toBe(encodeMessage({ ...fixed, job_id: "ab12cd34-9", id: id as never, count: 0, attempt: 1 }));
      }
    }
  });

  it("round-trips, keeping unknown keys", () => {
    const text = encodeMessage({ ...edge, kwargs: { tolerance: 2 }, param_step: 1, extra: { campaign: "ctx" } });
    const d = decodeMessage(text);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.message).toMatchObject({ ...edge, kwargs: { tolerance: 2 }, param_step: 1, extra: { campaign: "ctx" } });
    expect(JSON.parse(encodeMessage(d.message)).campaign).toBe("ctx");
  });

  it("treats a missing count as 0 (AutoCNet's KeyError: 'count'), infers along and attempt", () => {
    const d = decodeMessage(JSON.stringify({ id: [1, 2], func: "overlap" }));
    expect(d).toMatchObject({ ok: true, message: { count: 0, attempt: 1, along: "edge", args: [], kwargs: {} } });
    const n = decodeMessage(JSON.stringify({ id: 7, func: "f", count: 2 }));
    expect(n).toMatchObject({ ok: true, message: { count: 2, attempt: 3, along: "node" } });
  });

  it("accepts SLURM walltime strings as AutoCNet writes them", () => {
    expect(decodeMessage(JSON.stringify({ id: 1, func: "f", walltime: "1-00:00:00" }))).toMatchObject({ message: { walltime: 86400 } });
  });

  it.each([
    [null, /empty/],
    ["{not json", /not JSON/],
    ["[1,2]", /not a JSON object/],
    ['"text"', /not a JSON object/],
    [JSON.stringify({ id: 1 }), /'func'/],
    [JSON.stringify({ func: "f" }), /'id'/],
    [JSON.stringify({ id: 1, func: "f", count: "2" }), /'count'/],
    [JSON.stringify({ id: 1, func: "f", count: -1 }), /'count'/],
    [JSON.stringify({ id: 1, func: "f", args: "x" }), /'args'/],
    [JSON.stringify({ id: 1, func: "f", kwargs: [1] }), /'kwargs'/],
    [JSON.stringify({ id: 1, func: "f", walltime: "soon" }), /walltime/],
    [JSON.stringify({ id: 1, func: "f", job_id: 5 }), /'job_id'/],
  ])("rejects %j with a reason instead of throwing", (raw, reason) => {
    const d = decodeMessage(raw as string | null);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.reason).toMatch(reason);
  });

  it("builds the next attempt: count+1, attempt+1, changes applied, claim stamps dropped", () => {
    const d = decodeMessage(JSON.stringify({ ...edge, max_time: 123, worker: "w1" }));
    if (!d.ok) throw new Error(d.reason);
    const next = JSON.parse(nextAttempt(d.message, { kwargs: { tolerance: 3 }, walltime: 1200, param_step: 2 }));
    expect(next).toEqual({ ...edge, args: [], kwargs: { tolerance: 3 }, walltime: 1200, count: 1, attempt: 2, param_step: 2 }); // args always written (issue 12)
    expect(next.max_time).toBeUndefined();
  });
});
