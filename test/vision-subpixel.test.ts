import { beforeAll, describe, expect, it } from "vitest";
import type { Raster } from "../src/image/raster";
import { sampleSpline, sampleSplineGrid, splineWindow } from "../src/vision/interpolate";
import { loadOpenCv, wasmHeapProbe } from "../src/vision/opencv";
import { subpixelRegister, type SubpixelOptions } from "../src/vision/subpixel";
import { type ChipPair, type ChipPairOptions, makeChipPair } from "../bench/matching/texture";

beforeAll(async () => {
  await loadOpenCv();
});

/** Registers `count` chip pairs (σ = 2 DN noise on ~30 DN texture) and returns the RMS and max error against truth. */
function measure(count: number, pair: (i: number) => ChipPairOptions, options: (p: ChipPair) => SubpixelOptions) {
  const errors: number[] = [];
  for (let i = 0; i < count; i++) {
    const p = makeChipPair(pair(i));
    const r = subpixelRegister(p.reference, p.refPoint, p.moving, p.apriori, options(p));
    expect(r.status).toBe("ok");
    expect(r.metric).toBeGreaterThan(0.8);
    errors.push(Math.hypot(r.x - p.truth.x, r.y - p.truth.y));
  }
  return { rms: Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / count), max: Math.max(...errors) };
}

describe("interpolate (cubic spline)", () => {
  const w = 40;
  const h = 30;
  const f = (x: number, y: number) => 50 + 20 * Math.sin(0.5 * x + 0.2) * Math.cos(0.35 * y - 0.4) + 0.3 * x;
  const values = new Float64Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) values[y * w + x] = f(x, y);
  const win = splineWindow(values, w, h, 100, 200);

  it("passes through the pixels (centres at integer coordinates, window offset honoured)", () => {
    for (const [x, y] of [[5, 5], [20, 13], [33, 24]] as const) {
      expect(sampleSpline(win, 100 + x, 200 + y)).toBeCloseTo(values[y * w + x]!, 9);
    }
  });

  it("interpolates a band-limited function between pixels, and the grid sampler agrees with point samples", () => {
    let worst = 0;
    for (let k = 0; k < 50; k++) {
      const x = 8 + ((k * 7.31) % 24);
      const y = 8 + ((k * 3.77) % 14);
      worst = Math.max(worst, Math.abs(sampleSpline(win, 100 + x, 200 + y) - f(x, y)));
    }
    expect(worst).toBeLessThan(0.05); // of a ±20 signal at 0.08 cycles/px
    const n = 6;
    const out = new Float64Array(n * n);
    const dx = new Float64Array(n * n);
    const dy = new Float64Array(n * n);
    sampleSplineGrid(win, 110.3, 205.8, n, n, out, dx, dy);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        const x = 110.3 + i;
        const y = 205.8 + j;
        expect(out[j * n + i]!).toBeCloseTo(sampleSpline(win, x, y), 10);
        const e = 1e-5;
        expect(dx[j * n + i]!).toBeCloseTo((sampleSpline(win, x + e, y) - sampleSpline(win, x - e, y)) / (2 * e), 5);
        expect(dy[j * n + i]!).toBeCloseTo((sampleSpline(win, x, y + e) - sampleSpline(win, x, y - e)) / (2 * e), 5);
      }
    }
    expect(() => sampleSplineGrid(win, 100, 200, n, n, out)).toThrow(RangeError);
  });
});

describe("subpixelRegister", () => {
  it("returns the position in MOVING: a large known offset (7.3, −4.6) px from the a-priori position", () => {
    const p = makeChipPair({ seed: 99, offset: { x: 7.3, y: -4.6 }, noiseSigma: 2 });
    expect(p.truth.x - p.apriori.x).toBeCloseTo(7.3, 9);
    const r = subpixelRegister(p.reference, p.refPoint, p.moving, p.apriori);
    expect(r.status).toBe("ok");
    expect(Math.abs(r.x - p.truth.x)).toBeLessThan(0.1);
    expect(Math.abs(r.y - p.truth.y)).toBeLessThan(0.1);
  });

  it("shift-only chips: < 0.05 px RMS (and every point < 0.1 px) with the default template method", () => {
    const { rms, max } = measure(40, (i) => ({ seed: 1000 + i, noiseSigma: 2 }), () => ({}));
    expect(rms).toBeLessThan(0.05);
    expect(max).toBeLessThan(0.1);
  });

  it("±2° rotation and ±2 % scale with the a-priori affine pre-warp: < 0.05 px RMS", () => {
    const { rms, max } = measure(
      40,
      (i) => ({ seed: 2000 + i, noiseSigma: 2, rotationDeg: i % 2 ? 2 : -2, scale: i % 3 === 0 ? 0.98 : 1.02 }),
      (p) => ({ affine: p.affine }),
    );
    expect(rms).toBeLessThan(0.05);
    expect(max).toBeLessThan(0.1);
  });

  it("the phase method reaches the same accuracy class (< 0.06 px RMS), with and without rotation", () => {
    const shift = measure(30, (i) => ({ seed: 3000 + i, noiseSigma: 2 }), () => ({ method: "phase" }));
    expect(shift.rms).toBeLessThan(0.06);
    const rot = measure(
      30,
      (i) => ({ seed: 4000 + i, noiseSigma: 2, rotationDeg: i % 2 ? 2 : -2, scale: 1.02 }),
      (p) => ({ method: "phase", affine: p.affine }),
    );
    expect(rot.rms).toBeLessThan(0.06);
  });

  it("a fractional refPoint is honoured (template resampled at the sub-pixel reference position)", () => {
    const p = makeChipPair({ seed: 5, noiseSigma: 0, rotationDeg: 1, scale: 1.01 });
    const off = { x: 0.5, y: -0.25 };
    const [[a, b], [c, d]] = p.affine;
    const truth = { x: p.truth.x + a * off.x + b * off.y, y: p.truth.y + c * off.x + d * off.y };
    const r = subpixelRegister(p.reference, { x: p.refPoint.x + off.x, y: p.refPoint.y + off.y }, p.moving, p.apriori, {
      affine: p.affine,
    });
    expect(r.status).toBe("ok");
    expect(Math.hypot(r.x - truth.x, r.y - truth.y)).toBeLessThan(0.05);
  });

  it("reports edge, flat, peak-on-border and low-correlation", () => {
    const p = makeChipPair({ seed: 7, noiseSigma: 2 });
    // Template leaves the reference.
    expect(subpixelRegister(p.reference, { x: 10, y: 35 }, p.moving, p.apriori)).toMatchObject({
      status: "edge",
      x: p.apriori.x,
      y: p.apriori.y,
    });
    // Search window leaves the moving image.
    expect(subpixelRegister(p.reference, p.refPoint, p.moving, { x: 20, y: 50 }).status).toBe("edge");
    // No-data inside the search window.
    const holed: Raster = { ...p.moving, data: Float32Array.from(p.moving.data) };
    holed.data[50 * holed.width + 30] = NaN;
    expect(subpixelRegister(p.reference, p.refPoint, holed, p.apriori).status).toBe("edge");
    // A constant reference has no texture.
    const flat: Raster = { ...p.reference, data: new Float32Array(p.reference.data.length).fill(100) };
    expect(subpixelRegister(flat, p.refPoint, p.moving, p.apriori).status).toBe("flat");
    // A broad blob whose match lies 25 px right of apriori, beyond the ±15 px search: best correlation on the border.
    const blob = (cx: number, cy: number, size: number): Raster => {
      const data = new Float32Array(size * size);
      for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) data[y * size + x] = 100 * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 200);
      return { width: size, height: size, data };
    };
    const border = subpixelRegister(blob(35, 35, 71), { x: 35, y: 35 }, blob(75, 50, 101), { x: 50, y: 50 });
    expect(border.status).toBe("peak-on-border");
    expect(border.x).toBe(50 + 15);
    // A demanding threshold turns a good match into low-correlation, with the position still returned.
    const low = subpixelRegister(p.reference, p.refPoint, p.moving, p.apriori, { minMetric: 0.999 });
    expect(low.status).toBe("low-correlation");
    expect(Math.hypot(low.x - p.truth.x, low.y - p.truth.y)).toBeLessThan(0.1);
    // Unrelated images do not come back "ok".
    const other = makeChipPair({ seed: 8, noiseSigma: 2 });
    expect(subpixelRegister(p.reference, p.refPoint, other.moving, other.apriori, { minMetric: 0.6 }).status).not.toBe("ok");
    expect(() => subpixelRegister(p.reference, p.refPoint, p.moving, p.apriori, { templateSize: 30 })).toThrow(RangeError);
    expect(() => subpixelRegister(p.reference, p.refPoint, p.moving, p.apriori, { searchSize: 31 })).toThrow(RangeError);
  });

  it("allocates nothing on the WASM heap that it does not free (2000 calls)", () => {
    const p = makeChipPair({ seed: 11, noiseSigma: 2 });
    subpixelRegister(p.reference, p.refPoint, p.moving, p.apriori);
    const base = wasmHeapProbe();
    for (let i = 0; i < 2000; i++) subpixelRegister(p.reference, p.refPoint, p.moving, p.apriori, { method: i % 2 ? "phase" : "template" });
    expect(wasmHeapProbe()).toBe(base);
  });
});
