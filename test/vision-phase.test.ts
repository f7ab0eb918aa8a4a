import { describe, expect, it } from "vitest";
import type { Raster } from "../src/image/raster";
import { phaseCorrelate } from "../src/vision/phase";
import { seededRandom } from "../src/vision/random";
import { makeTexture, renderChip } from "../bench/matching/texture";

/** b(x) = a(x − d): content of `a` at x appears at x + d in `b`. */
function shiftedPair(d: { x: number; y: number }, size: number, seed: number, noise = 0): [Raster, Raster] {
  const tex = makeTexture(seed);
  const I: [[number, number], [number, number]] = [
    [1, 0],
    [0, 1],
  ];
  const a = renderChip(tex, { width: size, height: size, origin: [300, 200], jacobian: I }, noise, seed * 3);
  const b = renderChip(tex, { width: size, height: size, origin: [300 - d.x, 200 - d.y], jacobian: I }, noise, seed * 3 + 1);
  return [a, b];
}

describe("phaseCorrelate", () => {
  it("is exact for a circular sub-pixel shift of a periodic image (no window)", () => {
    // Plane waves with whole numbers of cycles per 32 px are periodic on the chip: b is exactly a circular shift.
    // Forty of them, so no other shift brings all their phases into line.
    const n = 32;
    const rnd = seededRandom(9);
    const waves = Array.from({ length: 40 }, () => [Math.round(20 * rnd() - 10), Math.round(20 * rnd() - 10), 6.28 * rnd()]);
    const f = (x: number, y: number) =>
      waves.reduce((s, [kx, ky, ph]) => s + Math.cos((2 * Math.PI * (kx! * x + ky! * y)) / n + ph!), 0);
    const d = { x: 0.37, y: -1.62 };
    const a: Raster = { width: n, height: n, data: new Float32Array(n * n) };
    const b: Raster = { width: n, height: n, data: new Float32Array(n * n) };
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        a.data[y * n + x] = f(x, y);
        b.data[y * n + x] = f(x - d.x, y - d.y);
      }
    }
    for (const regularization of [0, 1]) {
      const r = phaseCorrelate(a, b, { window: "none", regularization });
      expect(r.dx).toBeCloseTo(d.x, 4);
      expect(r.dy).toBeCloseTo(d.y, 4);
      expect(r.peak).toBeGreaterThan(0.999);
    }
  });

  it("measures known sub-pixel shifts of non-periodic texture to < 0.02 px (Hann window, moved window passes)", () => {
    const shifts = [
      { x: 0.3, y: -0.7 },
      { x: 2.25, y: 1.5 },
      { x: -3.4, y: 0.1 },
      { x: 0.05, y: 0.95 },
      { x: -1.5, y: -2.5 },
    ];
    shifts.forEach((d, i) => {
      const [a, b] = shiftedPair(d, 48, i + 1);
      const r = phaseCorrelate(a, b);
      expect(Math.abs(r.dx - d.x)).toBeLessThan(0.02);
      expect(Math.abs(r.dy - d.y)).toBeLessThan(0.02);
      expect(r.peak).toBeGreaterThan(0.95);
    });
  });

  it("with sensor noise (σ = 2 DN on ~30 DN texture) stays within 0.1 px; the integer option gives the integer peak", () => {
    let sq = 0;
    for (let i = 0; i < 10; i++) {
      const d = { x: ((i * 0.37) % 2) - 1, y: ((i * 0.61) % 2) - 1 };
      const [a, b] = shiftedPair(d, 32, 100 + i, 2);
      const r = phaseCorrelate(a, b);
      sq += (r.dx - d.x) ** 2 + (r.dy - d.y) ** 2;
      expect(Math.hypot(r.dx - d.x, r.dy - d.y)).toBeLessThan(0.1);
    }
    expect(Math.sqrt(sq / 10)).toBeLessThan(0.05);
    const [a, b] = shiftedPair({ x: 3.2, y: -1.9 }, 32, 7);
    const r = phaseCorrelate(a, b, { subpixel: false });
    expect([r.dx, r.dy]).toEqual([3, -2]);
  });

  it("gives a low peak for unrelated images and rejects different sizes", () => {
    const [a] = shiftedPair({ x: 0, y: 0 }, 32, 1);
    const [c] = shiftedPair({ x: 0, y: 0 }, 32, 2);
    expect(phaseCorrelate(a, c).peak).toBeLessThan(0.5);
    const [small] = shiftedPair({ x: 0, y: 0 }, 16, 1);
    expect(() => phaseCorrelate(a, small)).toThrow(RangeError);
  });
});
