import { beforeAll, describe, expect, it } from "vitest";
import { loadOpenCv } from "../src/vision/opencv";
import { correlationSurface, subpixelRegister } from "../src/vision/subpixel";
import { makeChipPair } from "../bench/matching/texture";

beforeAll(async () => {
  await loadOpenCv();
});

describe("correlationSurface (the coarse search of subpixelRegister, for displays)", () => {
  it("peaks at the integer position nearest the truth, in the pixels of the moving image, as subpixelRegister's coarse search", () => {
    for (let i = 0; i < 10; i++) {
      const p = makeChipPair({ seed: 700 + i, noiseSigma: 2, rotationDeg: i % 2 ? 2 : -2, scale: 1.01 });
      const s = correlationSurface(p.reference, p.refPoint, p.moving, p.apriori, { templateSize: 31, searchSize: 61, affine: p.affine });
      if (!("surface" in s)) throw new Error(`no surface: ${s.status}`);
      expect([s.surface.width, s.surface.height]).toEqual([31, 31]);
      // cell (0, 0) is the template centred 15 px up and left of the a-priori pixel
      expect([s.x0, s.y0]).toEqual([Math.round(p.apriori.x) - 15, Math.round(p.apriori.y) - 15]);
      let best = -Infinity, k = -1;
      s.surface.data.forEach((v, j) => { if (v > best) { best = v; k = j; } });
      const peak = { x: s.x0 + (k % 31), y: s.y0 + Math.floor(k / 31) };
      expect(Math.abs(peak.x - p.truth.x)).toBeLessThanOrEqual(1);
      expect(Math.abs(peak.y - p.truth.y)).toBeLessThanOrEqual(1);
      const r = subpixelRegister(p.reference, p.refPoint, p.moving, p.apriori, { affine: p.affine });
      expect(Math.abs(r.x - peak.x)).toBeLessThanOrEqual(1);
      expect(Math.abs(r.y - peak.y)).toBeLessThanOrEqual(1);
      expect(best).toBeGreaterThan(0.8);
      expect(best).toBeLessThanOrEqual(r.metric + 1e-6);  // the sub-pixel maximum is at least the best integer one
    }
  });

  it("says why there is none, as subpixelRegister would fail: a search window leaving the image, a flat template", () => {
    const p = makeChipPair({ seed: 1, noiseSigma: 2 });
    expect(correlationSurface(p.reference, p.refPoint, p.moving, { x: 5, y: 5 })).toEqual({ status: "edge" });
    const flat = { width: 71, height: 71, data: new Float32Array(71 * 71).fill(100) };
    expect(correlationSurface(flat, { x: 35, y: 35 }, p.moving, p.apriori)).toEqual({ status: "flat" });
    expect(() => correlationSurface(p.reference, p.refPoint, p.moving, p.apriori, { templateSize: 30 })).toThrow(RangeError);
  });
});
