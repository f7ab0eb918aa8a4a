import { beforeAll, describe, expect, it } from "vitest";
import { Matrix, determinant, inverse } from "ml-matrix";
import { eightPoint, estimateFundamental, sampsonDistance } from "../src/vision/fundamental";
import { applyHomography, estimateAffine, estimateHomography, type Point2 } from "../src/vision/homography";
import { loadOpenCv, wasmHeapProbe } from "../src/vision/opencv";
import { gaussianFrom, seededRandom } from "../src/vision/random";

beforeAll(async () => {
  await loadOpenCv();
});

/** n inlier pairs under `map` with Gaussian noise σ, then `outliers` random destination points, in a 1000² frame. */
function pairs(map: (p: Point2) => Point2, n: number, outliers: number, sigma: number, seed: number) {
  const rnd = seededRandom(seed);
  const g = gaussianFrom(rnd);
  const src: Point2[] = [];
  const dst: Point2[] = [];
  const truth: boolean[] = [];
  for (let i = 0; i < n + outliers; i++) {
    const p = { x: 1000 * rnd(), y: 1000 * rnd() };
    src.push(p);
    if (i < n) {
      const q = map(p);
      dst.push({ x: q.x + sigma * g(), y: q.y + sigma * g() });
      truth.push(true);
    } else {
      dst.push({ x: 1000 * rnd(), y: 1000 * rnd() });
      truth.push(false);
    }
  }
  return { src, dst, truth };
}

describe("estimateHomography / estimateAffine", () => {
  const H = [1.02, 0.03, 15, -0.025, 0.99, -8, 2e-5, -1e-5, 1];

  it("recovers a known homography from noisy pairs with 30 % outliers; mask and residuals per pair", () => {
    const { src, dst, truth } = pairs((p) => applyHomography(H, p), 140, 60, 0.3, 1);
    const r = estimateHomography(src, dst, { reprojThreshold: 2, confidence: 0.995 })!;
    expect(r.matrix).toHaveLength(9);
    expect(r.mask).toHaveLength(200);
    expect(r.residuals).toHaveLength(200);
    // Every true inlier kept, (almost) every outlier rejected: a random point lands within 2 px with tiny probability.
    expect(r.mask.slice(0, 140).every(Boolean)).toBe(true);
    expect(r.mask.slice(140).filter(Boolean).length).toBeLessThanOrEqual(1);
    // Residuals are the reprojection errors of the fitted map: at the noise level for inliers, large for outliers.
    r.mask.forEach((m, i) => {
      if (m) expect(r.residuals[i]!).toBeLessThan(2.5);
      if (truth[i]) expect(r.residuals[i]!).toBeLessThan(1.5);
    });
    // The fitted map agrees with the true one across the frame to well under a pixel.
    for (const p of [{ x: 0, y: 0 }, { x: 1000, y: 0 }, { x: 0, y: 1000 }, { x: 500, y: 500 }, { x: 1000, y: 1000 }]) {
      const a = applyHomography(r.matrix, p);
      const b = applyHomography(H, p);
      expect(Math.hypot(a.x - b.x, a.y - b.y)).toBeLessThan(0.3);
    }
    expect(r.inliers).toBe(r.mask.filter(Boolean).length);
  });

  it("recovers a known affine map with outliers; too few pairs give undefined", () => {
    const A = [0.998, -0.035, 12.5, 0.034, 1.003, -4.25];
    const map = (p: Point2) => ({ x: A[0]! * p.x + A[1]! * p.y + A[2]!, y: A[3]! * p.x + A[4]! * p.y + A[5]! });
    const { src, dst } = pairs(map, 100, 40, 0.2, 2);
    const r = estimateAffine(src, dst)!;
    expect(r.matrix).toHaveLength(6);
    r.matrix.forEach((v, i) => expect(v).toBeCloseTo(A[i]!, i % 3 === 2 ? 0 : 3));
    expect(r.mask.slice(0, 100).filter(Boolean).length).toBeGreaterThanOrEqual(99);
    expect(r.mask.slice(100).filter(Boolean).length).toBeLessThanOrEqual(1);
    expect(estimateAffine(src.slice(0, 2), dst.slice(0, 2))).toBeUndefined();
    expect(estimateHomography(src.slice(0, 3), dst.slice(0, 3))).toBeUndefined();
    expect(() => estimateHomography(src, dst.slice(1))).toThrow(RangeError);
  });

  it("leaks nothing on the WASM heap", () => {
    const { src, dst } = pairs((p) => applyHomography(H, p), 50, 10, 0.3, 3);
    estimateHomography(src, dst);
    estimateAffine(src, dst);
    const base = wasmHeapProbe();
    for (let i = 0; i < 200; i++) {
      estimateHomography(src, dst);
      estimateAffine(src, dst);
    }
    expect(wasmHeapProbe()).toBe(base);
  });
});

describe("estimateFundamental", () => {
  // Two projective cameras P1 = K[I | 0], P2 = K[R | t] looking at a non-planar cloud of points.
  const K = new Matrix([
    [800, 0, 500],
    [0, 820, 480],
    [0, 0, 1],
  ]);
  const a = 0.12;
  const b = -0.07;
  const Ry = new Matrix([
    [Math.cos(a), 0, Math.sin(a)],
    [0, 1, 0],
    [-Math.sin(a), 0, Math.cos(a)],
  ]);
  const Rx = new Matrix([
    [1, 0, 0],
    [0, Math.cos(b), -Math.sin(b)],
    [0, Math.sin(b), Math.cos(b)],
  ]);
  const R = Ry.mmul(Rx);
  const t = [-1.0, 0.15, 0.2];
  const tx = new Matrix([
    [0, -t[2]!, t[1]!],
    [t[2]!, 0, -t[0]!],
    [-t[1]!, t[0]!, 0],
  ]);
  const Kinv = inverse(K);
  const Ftrue = normalise(Kinv.transpose().mmul(tx).mmul(R).mmul(Kinv).to1DArray());

  function project(X: number[], second: boolean): Point2 {
    let v = new Matrix([[X[0]!], [X[1]!], [X[2]!]]);
    if (second) v = R.mmul(v).add(new Matrix([[t[0]!], [t[1]!], [t[2]!]]));
    const p = K.mmul(v);
    return { x: p.get(0, 0) / p.get(2, 0), y: p.get(1, 0) / p.get(2, 0) };
  }

  function scene(n: number, outliers: number, sigma: number, seed: number) {
    const rnd = seededRandom(seed);
    const g = gaussianFrom(rnd);
    const src: Point2[] = [];
    const dst: Point2[] = [];
    for (let i = 0; i < n + outliers; i++) {
      const X = [(rnd() - 0.5) * 8, (rnd() - 0.5) * 6, 8 + 8 * rnd()];
      const p = project(X, false);
      const q = project(X, true);
      src.push({ x: p.x + sigma * g(), y: p.y + sigma * g() });
      dst.push(i < n ? { x: q.x + sigma * g(), y: q.y + sigma * g() } : { x: 1000 * rnd(), y: 1000 * rnd() });
    }
    return { src, dst };
  }

  it("equals the cameras' F (up to scale) on exact correspondences", () => {
    const { src, dst } = scene(60, 0, 0, 4);
    const f = eightPoint(src, dst)!;
    f.forEach((v, i) => expect(v).toBeCloseTo(Ftrue[i]!, 7));
    const r = estimateFundamental(src, dst, { seed: 1 })!;
    r.matrix.forEach((v, i) => expect(v).toBeCloseTo(Ftrue[i]!, 7));
    expect(r.mask.every(Boolean)).toBe(true);
    // Rank 2.
    expect(Math.abs(determinant(new Matrix([r.matrix.slice(0, 3), r.matrix.slice(3, 6), r.matrix.slice(6, 9)])))).toBeLessThan(1e-12);
  });

  it("with 0.5 px noise and 30 % outliers: epipolar constraint holds on inliers, outliers rejected, repeatable by seed", () => {
    const { src, dst } = scene(200, 86, 0.5, 5);
    const r = estimateFundamental(src, dst, { reprojThreshold: 2, confidence: 0.99, seed: 42 })!;
    expect(r).toBeDefined();
    const inl = r.mask.slice(0, 200).filter(Boolean).length;
    expect(inl).toBeGreaterThanOrEqual(196);
    // A random point lies within 2 px of its epipolar line with probability ~ 4/1000 per outlier.
    expect(r.mask.slice(200).filter(Boolean).length).toBeLessThanOrEqual(4);
    // x2ᵀ F x1 ≈ 0: Sampson distance of the true inliers, measured with the fitted F, at the noise level.
    const d = src.slice(0, 200).map((p, i) => sampsonDistance(r.matrix, p, dst[i]!));
    const rms = Math.sqrt(d.reduce((s, v) => s + v * v, 0) / d.length);
    expect(rms).toBeLessThan(0.8);
    // The fitted F and the true F agree on the epipolar geometry of noise-free points.
    const clean = scene(100, 0, 0, 6);
    const dt = clean.src.map((p, i) => sampsonDistance(r.matrix, p, clean.dst[i]!));
    expect(Math.max(...dt)).toBeLessThan(1);
    const again = estimateFundamental(src, dst, { reprojThreshold: 2, confidence: 0.99, seed: 42 })!;
    expect(again.matrix).toEqual(r.matrix);
    expect(again.mask).toEqual(r.mask);
    expect(r.residuals).toHaveLength(src.length);
  });

  it("returns undefined for fewer than 8 pairs", () => {
    const { src, dst } = scene(7, 0, 0, 7);
    expect(estimateFundamental(src, dst)).toBeUndefined();
    expect(eightPoint(src, dst)).toBeUndefined();
  });
});

function normalise(f: number[]): number[] {
  const n = Math.hypot(...f);
  let big = 0;
  for (const v of f) if (Math.abs(v) > Math.abs(big)) big = v;
  return f.map((v) => (Math.sign(big) * v) / n);
}
