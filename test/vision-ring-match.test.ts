import { describe, expect, it } from "vitest";
import { gaussianFrom, seededRandom } from "../src/vision/random";
import { type RingFeature, ringMatch } from "../src/vision/ring-match";

/**
 * 150 ground features seen by both images (10 m pixels; the target rotated by 3° and shifted in pixel space), plus
 * 60 reference-only and 90 target-only features. The target's a-priori ground coordinates are off by (6000, −3000) m
 * — 6.7 km, so the true partners sit in the 4–8 km ring. Descriptors: random 64-vectors, the target's a noisy copy.
 */
function campaign(seed: number, binary = false) {
  const rnd = seededRandom(seed);
  const g = gaussianFrom(rnd);
  const dim = binary ? 32 : 64;
  const common = 150;
  const refOnly = 60;
  const tarOnly = 90;
  const offset = { x: 6000, y: -3000 };
  const th = (3 * Math.PI) / 180;
  const ref: RingFeature[] = [];
  const tar: RingFeature[] = [];
  const refDesc = binary ? new Uint8Array((common + refOnly) * dim) : new Float32Array((common + refOnly) * dim);
  const tarDesc = binary ? new Uint8Array((common + tarOnly) * dim) : new Float32Array((common + tarOnly) * dim);
  const truth = new Map<number, number>();
  const ground = () => ({ x: 30000 * rnd(), y: 30000 * rnd() });
  const toTar = (p: { x: number; y: number }) => ({
    x: Math.cos(th) * (p.x / 10) - Math.sin(th) * (p.y / 10) + 40,
    y: Math.sin(th) * (p.x / 10) + Math.cos(th) * (p.y / 10) - 25,
  });
  const fill = (desc: Float32Array | Uint8Array, row: number, from?: { desc: Float32Array | Uint8Array; row: number }) => {
    for (let k = 0; k < dim; k++) {
      if (binary) {
        let v = from ? from.desc[from.row * dim + k]! : Math.floor(256 * rnd());
        if (from && rnd() < 0.15) v ^= 1 << Math.floor(8 * rnd()); // flip a few bits
        desc[row * dim + k] = v;
      } else {
        desc[row * dim + k] = from ? from.desc[from.row * dim + k]! + 0.15 * g() : g();
      }
    }
  };
  // Every fifth of the first 300 reference features has no partner, so indices carry no information.
  for (let i = 0; i < common + refOnly; i++) {
    const p = ground();
    ref.push({ x: p.x / 10, y: p.y / 10, xm: p.x, ym: p.y });
    fill(refDesc, i);
    if (i % 5 !== 4 || i >= 5 * refOnly) {
      if (tar.length < common) {
        const q = toTar(p);
        const j = tar.length;
        tar.push({ x: q.x, y: q.y, xm: p.x + offset.x + 20 * g(), ym: p.y + offset.y + 20 * g() });
        fill(tarDesc, j, { desc: refDesc, row: i });
        truth.set(i, j);
      }
    }
  }
  while (tar.length < common + tarOnly) {
    const p = ground();
    const q = toTar(p);
    tar.push({ x: q.x, y: q.y, xm: p.x + offset.x, ym: p.y + offset.y });
    fill(tarDesc, tar.length - 1);
  }
  return { ref, tar, refDesc, tarDesc, truth };
}

describe("ringMatch", () => {
  it("finds the 4–8 km ring and only true correspondences (float descriptors, L2)", () => {
    const c = campaign(1);
    expect(c.truth.size).toBe(150);
    const r = ringMatch(c.ref, c.tar, c.refDesc, c.tarDesc, { seed: 3 });
    expect(r.status).toBe("ok");
    if (r.status !== "ok") return;
    expect(r.ring).toEqual([4000, 8000]);
    expect(r.refIdx.length).toBeGreaterThanOrEqual(15);
    expect(r.refIdx.length).toBe(r.tarIdx.length);
    r.refIdx.forEach((ri, k) => expect(c.truth.get(ri)).toBe(r.tarIdx[k]));
    // Consensus came at a break point (every 200 reference features) or at the end.
    expect(r.iterations === 200 || r.iterations === c.ref.length).toBe(true);
    // Seeded: the same seed gives the same answer.
    expect(ringMatch(c.ref, c.tar, c.refDesc, c.tarDesc, { seed: 3 })).toEqual(r);
  });

  it("works with binary descriptors (Hamming) and an earlier break point", () => {
    const c = campaign(2, true);
    const r = ringMatch(c.ref, c.tar, c.refDesc, c.tarDesc, { seed: 5, iteration_break_point: 50 });
    expect(r.status).toBe("ok");
    if (r.status !== "ok") return;
    expect(r.ring).toEqual([4000, 8000]);
    expect(r.iterations % 50 === 0 || r.iterations === c.ref.length).toBe(true);
    r.refIdx.forEach((ri, k) => expect(c.truth.get(ri)).toBe(r.tarIdx[k]));
  });

  it("says too few points survived when the parameters cannot succeed, so a retry policy can walk a ladder", () => {
    const c = campaign(3);
    // The error (6.7 km) lies beyond max_radius: no ring holds the true partners.
    const r = ringMatch(c.ref, c.tar, c.refDesc, c.tarDesc, { max_radius: 4000, seed: 1 });
    expect(r).toMatchObject({ status: "too-few-points", reason: "exhausted", iterations: c.ref.length });
    if (r.status === "too-few-points") expect(r.bestConsensus).toBeLessThan(15);
    // More target points than features exist.
    expect(ringMatch(c.ref, c.tar, c.refDesc, c.tarDesc, { target_points: 1000 })).toMatchObject({
      status: "too-few-points",
      reason: "input",
    });
    // The next rung (wider radius) succeeds.
    expect(ringMatch(c.ref, c.tar, c.refDesc, c.tarDesc, { max_radius: 40000, seed: 1 }).status).toBe("ok");
  });

  it("rejects descriptor arrays that do not match the features", () => {
    const c = campaign(4);
    expect(() => ringMatch(c.ref, c.tar, c.refDesc, c.tarDesc.subarray(1))).toThrow(RangeError);
  });
});
