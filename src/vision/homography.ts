/**
 * Robust homography and affine fits between matched points (OpenCV's `findHomography` / `estimateAffine2D`), the
 * outlier filter for image pairs that see a flat scene or are nearly orthographic — which is most planetary orbital
 * pairs and every synthetic affine frame, where the fundamental matrix is degenerate (see fundamental.ts).
 *
 * Convention: `src[i]` and `dst[i]` are the same feature in the source and destination images (pixel coordinates of
 * `src/image/raster.ts`); the model maps source to destination: dst ≈ H·src. `mask[i]` says whether pair i is an
 * inlier, `residuals[i]` is its reprojection error |H(src[i]) − dst[i]| in destination pixels, for every pair.
 * OpenCV's RANSAC uses a fixed internal seed, so results are repeatable. OpenCV must be loaded first.
 */
import { openCvSync, withMats } from "./opencv";

export interface Point2 {
  x: number;
  y: number;
}

export interface RobustFitOptions {
  /** `'ransac'` (default) or `'lmeds'` (least median of squares: no threshold, needs > 50 % inliers). */
  method?: "ransac" | "lmeds";
  /** Inlier threshold on the reprojection error, destination pixels; default 2 (AutoCNet's default). */
  reprojThreshold?: number;
  /** RANSAC confidence; default 0.99 (AutoCNet's default). */
  confidence?: number;
  /** RANSAC iteration cap; default 2000. */
  maxIterations?: number;
}

export interface HomographyResult {
  /** Row-major 3 × 3, normalised so that element [2][2] is 1. */
  matrix: number[];
  mask: boolean[];
  residuals: number[];
  inliers: number;
}

export interface AffineResult {
  /** Row-major 2 × 3 [a, b, tx, c, d, ty]: x' = a·x + b·y + tx, y' = c·x + d·y + ty. */
  matrix: number[];
  mask: boolean[];
  residuals: number[];
  inliers: number;
}

function checkPairs(src: ArrayLike<Point2>, dst: ArrayLike<Point2>): void {
  if (src.length !== dst.length) throw new RangeError(`src and dst differ in length (${src.length}, ${dst.length})`);
}

function pointsData(points: ArrayLike<Point2>): Float32Array {
  const out = new Float32Array(points.length * 2);
  for (let i = 0; i < points.length; i++) {
    out[2 * i] = points[i]!.x;
    out[2 * i + 1] = points[i]!.y;
  }
  return out;
}

/** Applies a 3 × 3 homography (row-major) to a point. */
export function applyHomography(h: ArrayLike<number>, p: Point2): Point2 {
  const w = h[6]! * p.x + h[7]! * p.y + h[8]!;
  return { x: (h[0]! * p.x + h[1]! * p.y + h[2]!) / w, y: (h[3]! * p.x + h[4]! * p.y + h[5]!) / w };
}

/**
 * Robust homography from ≥ 4 pairs; `undefined` when there are too few pairs or no model was found (degenerate
 * configuration). See the file comment for conventions.
 */
export function estimateHomography(
  src: ArrayLike<Point2>,
  dst: ArrayLike<Point2>,
  options: RobustFitOptions = {},
): HomographyResult | undefined {
  checkPairs(src, dst);
  const n = src.length;
  if (n < 4) return undefined;
  const cv = openCvSync();
  const method = (options.method ?? "ransac") === "lmeds" ? cv.LMEDS : cv.RANSAC;
  const fitted = withMats((track) => {
    const a = track(cv.matFromArray(n, 1, cv.CV_32FC2, pointsData(src)));
    const b = track(cv.matFromArray(n, 1, cv.CV_32FC2, pointsData(dst)));
    const mask = track(new cv.Mat());
    const h = track(
      cv.findHomography(a, b, method, options.reprojThreshold ?? 2, mask, options.maxIterations ?? 2000, options.confidence ?? 0.99),
    );
    if (h.empty() || h.rows !== 3) return undefined;
    return { matrix: Array.from(h.data64F), mask: Array.from(mask.data, (v) => v !== 0) };
  });
  if (!fitted) return undefined;
  const residuals = Array.from({ length: n }, (_, i) => {
    const p = applyHomography(fitted.matrix, src[i]!);
    return Math.hypot(p.x - dst[i]!.x, p.y - dst[i]!.y);
  });
  return { ...fitted, residuals, inliers: fitted.mask.filter(Boolean).length };
}

/**
 * Robust 6-parameter affine fit from ≥ 3 pairs (OpenCV refines the RANSAC model on its inliers with
 * Levenberg–Marquardt); `undefined` when there are too few pairs or no model was found.
 */
export function estimateAffine(
  src: ArrayLike<Point2>,
  dst: ArrayLike<Point2>,
  options: RobustFitOptions = {},
): AffineResult | undefined {
  checkPairs(src, dst);
  const n = src.length;
  if (n < 3) return undefined;
  const cv = openCvSync();
  const method = (options.method ?? "ransac") === "lmeds" ? cv.LMEDS : cv.RANSAC;
  const fitted = withMats((track) => {
    const a = track(cv.matFromArray(n, 1, cv.CV_32FC2, pointsData(src)));
    const b = track(cv.matFromArray(n, 1, cv.CV_32FC2, pointsData(dst)));
    const mask = track(new cv.Mat());
    const m = track(
      cv.estimateAffine2D(
        a,
        b,
        mask,
        method,
        options.reprojThreshold ?? 2,
        options.maxIterations ?? 2000,
        options.confidence ?? 0.99,
        10,
      ) as InstanceType<typeof cv.Mat>,
    );
    if (m.empty() || m.rows !== 2) return undefined;
    return { matrix: Array.from(m.data64F), mask: Array.from(mask.data, (v) => v !== 0) };
  });
  if (!fitted) return undefined;
  const [a, b, tx, c, d, ty] = fitted.matrix as [number, number, number, number, number, number];
  const residuals = Array.from({ length: n }, (_, i) => {
    const p = src[i]!;
    return Math.hypot(a * p.x + b * p.y + tx - dst[i]!.x, c * p.x + d * p.y + ty - dst[i]!.y);
  });
  return { ...fitted, residuals, inliers: fitted.mask.filter(Boolean).length };
}
