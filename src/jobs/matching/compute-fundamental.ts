/**
 * `compute_fundamental_matrix` (edge): the fundamental matrix of the edge's matches, normalised 8-point inside
 * a seeded RANSAC on the Sampson distance (src/vision/fundamental.ts; AutoCNet's
 * `compute_fundamental_matrix(kp1, kp2, reproj_threshold=2.0, confidence=0.99)`), x_dᵀ·F·x_s = 0 →
 * `edges.fundamental` (3 × 3 row-major, unit Frobenius norm), `masks.fundamental` (inlier match ids) and weights
 * `fundamental_rms` (RMS Sampson distance of the inliers, pixels), `fundamental_inliers`, `fundamental_matches`.
 *
 * kwargs: `reproj_threshold` (pixels, default 2), `confidence` (0.99), `max_iterations` (2000), `seed` (0),
 * `min_matches` (default 8; fewer fails the job).
 *
 * Caution: F is degenerate when the scene is planar or the views affine (orthographic-like) — every synthetic
 * frame and most orbital pairs — so there any of a family of matrices fits every correct match and the mask
 * then rejects gross outliers only; use compute_homography as the outlier filter on such edges. Repeatable
 * (seeded). Returns the weights.
 */
import { estimateFundamental } from "../../vision/fundamental";
import type { JobContext } from "../../worker/registry";
import { edgeTarget, Kwargs, loadMatches, rms, storeEdgeFit } from "./common";

export const COMPUTE_FUNDAMENTAL_MATRIX = "compute_fundamental_matrix";

export async function computeFundamentalJob(ctx: JobContext): Promise<Record<string, number>> {
  const [source, destination] = edgeTarget(ctx, COMPUTE_FUNDAMENTAL_MATRIX);
  const k = new Kwargs(COMPUTE_FUNDAMENTAL_MATRIX, ctx.kwargs);
  const options = {
    reprojThreshold: k.number("reproj_threshold", 2, { min: 0, exclusiveMin: true }),
    confidence: k.number("confidence", 0.99, { min: 0, max: 1, exclusiveMin: true }),
    maxIterations: k.number("max_iterations", 2000, { integer: true, min: 1 }),
    seed: k.number("seed", 0, { integer: true }),
  };
  const min = k.number("min_matches", 8, { integer: true, min: 8 });
  const m = await loadMatches(ctx.db, source, destination, COMPUTE_FUNDAMENTAL_MATRIX, min);
  const fit = estimateFundamental(m.src, m.dst, options);
  if (!fit) throw new Error(`${COMPUTE_FUNDAMENTAL_MATRIX} on edge (${source}, ${destination}): no fundamental matrix found from ${m.ids.length} matches`);
  const weights = {
    fundamental_rms: rms(fit.residuals.filter((_, i) => fit.mask[i])),
    fundamental_inliers: fit.inliers,
    fundamental_matches: m.ids.length,
  };
  await storeEdgeFit(ctx.db, source, destination, "fundamental", fit.matrix, "fundamental", m.ids.filter((_, i) => fit.mask[i]), weights);
  return weights;
}
