/**
 * The fundamental matrix between two views, robustly: the normalised 8-point algorithm inside a seeded RANSAC with the
 * Sampson distance, then a least-squares refit on the inliers.
 *
 * Convention: `src[i]` (view 1) and `dst[i]` (view 2) are the same feature, in pixel coordinates; F satisfies
 * x2ᵀ·F·x1 = 0 with homogeneous x1 = (src.x, src.y, 1), x2 = (dst.x, dst.y, 1). F is returned row-major with unit
 * Frobenius norm and its largest-magnitude element positive (F is only defined up to scale).
 *
 * Why written here rather than calling OpenCV's findFundamentalMat: a seeded RNG (repeatable outlier masks across
 * runs and machines, which a job's retry ladder and the tests rely on), and the Sampson residual for every pair.
 * Why each step:
 * - Hartley normalisation (centroid to the origin, mean distance √2) before the linear solve: on raw pixel
 *   coordinates (~1000) the design matrix's columns differ by 10⁶ in scale and the 8-point solution is poor.
 * - Rank-2 enforcement (zero the smallest singular value): a true F is singular (all epipolar lines meet at the
 *   epipole); the linear solve does not know that.
 * - Sampson distance: the first-order geometric distance of a pair to the epipolar constraint, in pixels, so the
 *   threshold means the same thing as OpenCV's `ransacReprojThreshold`.
 *
 * Degenerate for planar scenes and affine (orthographic-like) views: every pair then fits a family of F's. Use
 * estimateHomography/estimateAffine as the outlier filter there (AutoCNet's synthetic frames are exactly that case).
 */
import { Matrix, SVD } from "ml-matrix";
import type { Point2 } from "./homography";
import { sampleIndices, seededRandom } from "./random";

export interface FundamentalOptions {
  /** Inlier threshold on the Sampson distance, pixels; default 2. */
  reprojThreshold?: number;
  /** Probability that at least one sample is outlier-free, for the adaptive iteration count; default 0.99. */
  confidence?: number;
  /** Hard cap on RANSAC iterations; default 2000. */
  maxIterations?: number;
  /** RNG seed; the same seed and input give the same result. Default 0. */
  seed?: number;
}

export interface FundamentalResult {
  /** Row-major 3 × 3, unit Frobenius norm. */
  matrix: number[];
  mask: boolean[];
  /** Sampson distance of every pair to the final F, pixels. */
  residuals: number[];
  inliers: number;
}

/** Sampson distance (pixels) of the pair (p1, p2) to the epipolar constraint p2ᵀ·F·p1 = 0. */
export function sampsonDistance(f: ArrayLike<number>, p1: Point2, p2: Point2): number {
  const fx0 = f[0]! * p1.x + f[1]! * p1.y + f[2]!;
  const fx1 = f[3]! * p1.x + f[4]! * p1.y + f[5]!;
  const fx2 = f[6]! * p1.x + f[7]! * p1.y + f[8]!;
  const ft0 = f[0]! * p2.x + f[3]! * p2.y + f[6]!;
  const ft1 = f[1]! * p2.x + f[4]! * p2.y + f[7]!;
  const e = p2.x * fx0 + p2.y * fx1 + fx2;
  const den = fx0 * fx0 + fx1 * fx1 + ft0 * ft0 + ft1 * ft1;
  return den > 0 ? Math.abs(e) / Math.sqrt(den) : Infinity;
}

/** Similarity T (row-major 3 × 3) moving the points' centroid to 0 and their mean distance from it to √2. */
function hartley(points: ArrayLike<Point2>, idx: ArrayLike<number>): number[] {
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < idx.length; i++) {
    cx += points[idx[i]!]!.x;
    cy += points[idx[i]!]!.y;
  }
  cx /= idx.length;
  cy /= idx.length;
  let d = 0;
  for (let i = 0; i < idx.length; i++) d += Math.hypot(points[idx[i]!]!.x - cx, points[idx[i]!]!.y - cy);
  d /= idx.length;
  const s = d > 0 ? Math.SQRT2 / d : 1;
  return [s, 0, -s * cx, 0, s, -s * cy, 0, 0, 1];
}

/**
 * Normalised 8-point fit of F to the pairs listed in `idx` (≥ 8), rank 2 enforced; `undefined` if degenerate.
 * Least squares when more than 8 pairs are given.
 */
export function eightPoint(src: ArrayLike<Point2>, dst: ArrayLike<Point2>, idx?: ArrayLike<number>): number[] | undefined {
  const use = idx ?? Array.from({ length: src.length }, (_, i) => i);
  if (use.length < 8) return undefined;
  const t1 = hartley(src, use);
  const t2 = hartley(dst, use);
  // Normal equations AᵀA (9 × 9) accumulated directly: the null vector of A is the smallest eigenvector of AᵀA.
  const ata = new Float64Array(81);
  const row = new Float64Array(9);
  for (let k = 0; k < use.length; k++) {
    const p = src[use[k]!]!;
    const q = dst[use[k]!]!;
    const x1 = t1[0]! * p.x + t1[2]!;
    const y1 = t1[4]! * p.y + t1[5]!;
    const x2 = t2[0]! * q.x + t2[2]!;
    const y2 = t2[4]! * q.y + t2[5]!;
    row[0] = x2 * x1;
    row[1] = x2 * y1;
    row[2] = x2;
    row[3] = y2 * x1;
    row[4] = y2 * y1;
    row[5] = y2;
    row[6] = x1;
    row[7] = y1;
    row[8] = 1;
    for (let i = 0; i < 9; i++) for (let j = i; j < 9; j++) ata[i * 9 + j] = ata[i * 9 + j]! + row[i]! * row[j]!;
  }
  for (let i = 0; i < 9; i++) for (let j = 0; j < i; j++) ata[i * 9 + j] = ata[j * 9 + i]!;
  const m = new Matrix(9, 9);
  for (let i = 0; i < 9; i++) for (let j = 0; j < 9; j++) m.set(i, j, ata[i * 9 + j]!);
  const svd = new SVD(m, { computeLeftSingularVectors: false });
  const v = svd.rightSingularVectors;
  const fh = Array.from({ length: 9 }, (_, i) => v.get(i, 8));
  // Rank 2: zero the smallest singular value of the normalised F.
  const fsvd = new SVD(new Matrix([fh.slice(0, 3), fh.slice(3, 6), fh.slice(6, 9)]));
  const s = fsvd.diagonal;
  const u = fsvd.leftSingularVectors;
  const w = fsvd.rightSingularVectors;
  const f2 = new Matrix(3, 3);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) f2.set(i, j, s[0]! * u.get(i, 0) * w.get(j, 0) + s[1]! * u.get(i, 1) * w.get(j, 1));
  }
  // Undo the normalisation: F = T2ᵀ · F̂ · T1.
  const T1 = new Matrix([t1.slice(0, 3), t1.slice(3, 6), t1.slice(6, 9)]);
  const T2 = new Matrix([t2.slice(0, 3), t2.slice(3, 6), t2.slice(6, 9)]);
  const f = T2.transpose().mmul(f2).mmul(T1).to1DArray();
  return normaliseF(f);
}

/** Unit Frobenius norm, largest-magnitude element positive; `undefined` for a zero or non-finite matrix. */
function normaliseF(f: number[]): number[] | undefined {
  let norm = 0;
  let big = 0;
  for (const v of f) {
    norm += v * v;
    if (Math.abs(v) > Math.abs(big)) big = v;
  }
  norm = Math.sqrt(norm);
  if (!(norm > 0) || !Number.isFinite(norm)) return undefined;
  const sign = big < 0 ? -1 : 1;
  return f.map((v) => (sign * v) / norm);
}

/**
 * Robust fundamental matrix from ≥ 8 pairs; `undefined` if there are fewer pairs or no sample gave a model.
 * See the file comment for conventions and when not to use it.
 */
export function estimateFundamental(
  src: ArrayLike<Point2>,
  dst: ArrayLike<Point2>,
  options: FundamentalOptions = {},
): FundamentalResult | undefined {
  if (src.length !== dst.length) throw new RangeError(`src and dst differ in length (${src.length}, ${dst.length})`);
  const n = src.length;
  if (n < 8) return undefined;
  const threshold = options.reprojThreshold ?? 2;
  const confidence = options.confidence ?? 0.99;
  const maxIterations = options.maxIterations ?? 2000;
  const rnd = seededRandom(options.seed ?? 0);
  const scratch = new Int32Array(n);

  const inliersOf = (f: number[]): number[] => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) if (sampsonDistance(f, src[i]!, dst[i]!) <= threshold) out.push(i);
    return out;
  };

  let best: number[] = [];
  let needed = maxIterations;
  for (let iter = 0; iter < Math.min(needed, maxIterations); iter++) {
    const sample = sampleIndices(n, 8, rnd, scratch);
    const f = eightPoint(src, dst, sample);
    if (!f) continue;
    const inl = inliersOf(f);
    if (inl.length > best.length) {
      best = inl;
      // Adaptive stop: iterations needed for `confidence` of one all-inlier sample at this inlier ratio.
      const w = inl.length / n;
      const p = Math.pow(w, 8);
      needed = p >= 1 ? 0 : p <= 0 ? maxIterations : Math.ceil(Math.log(1 - confidence) / Math.log(1 - p));
    }
  }
  if (best.length < 8) return undefined;

  // Refit on the inliers; repeat while the inlier set changes (at most a few times).
  let f = eightPoint(src, dst, best);
  if (!f) return undefined;
  for (let k = 0; k < 5; k++) {
    const inl = inliersOf(f);
    if (inl.length < 8) break;
    const same = inl.length === best.length && inl.every((v, i) => v === best[i]);
    best = inl;
    if (same) break;
    const g = eightPoint(src, dst, best);
    if (!g) break;
    f = g;
  }
  const residuals = Array.from({ length: n }, (_, i) => sampsonDistance(f!, src[i]!, dst[i]!));
  const mask = residuals.map((r) => r <= threshold);
  return { matrix: f, mask, residuals, inliers: mask.filter(Boolean).length };
}
