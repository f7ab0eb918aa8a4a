/**
 * `compute_homography` (edge): RANSAC homography (OpenCV `findHomography`) on the edge's matches, source →
 * destination pixels (AutoCNet's `compute_homography(x1, x2, 'ransac', 2.0)`) → `edges.homography` (3 × 3
 * row-major), `masks.homography` (the ids of the inlier matches) and weights `homography_rms` (RMS reprojection
 * error of the inliers, destination pixels), `homography_max`, `homography_inliers`, `homography_matches`.
 *
 * kwargs: `method` ransac (default) | lmeds, `reproj_threshold` (pixels, default 2), `confidence` (0.99),
 * `max_iterations` (2000), `min_matches` (default 4; fewer fails the job).
 *
 * OpenCV's RANSAC is seeded internally, so a re-run on the same matches writes the same. It fails when no
 * model is found. Returns the weights.
 */
import { estimateHomography } from "../../vision/homography";
import type { JobContext } from "../../worker/registry";
import { edgeTarget, ensureOpenCv, Kwargs, loadMatches, rms, storeEdgeFit } from "./common";

export const COMPUTE_HOMOGRAPHY = "compute_homography";

export async function computeHomographyJob(ctx: JobContext): Promise<Record<string, number>> {
  const [source, destination] = edgeTarget(ctx, COMPUTE_HOMOGRAPHY);
  const k = new Kwargs(COMPUTE_HOMOGRAPHY, ctx.kwargs);
  const options = {
    method: k.choice<"ransac" | "lmeds">("method", "ransac", ["ransac", "lmeds"]),
    reprojThreshold: k.number("reproj_threshold", 2, { min: 0, exclusiveMin: true }),
    confidence: k.number("confidence", 0.99, { min: 0, max: 1, exclusiveMin: true }),
    maxIterations: k.number("max_iterations", 2000, { integer: true, min: 1 }),
  };
  const min = k.number("min_matches", 4, { integer: true, min: 4 });
  await ensureOpenCv();
  const m = await loadMatches(ctx.db, source, destination, COMPUTE_HOMOGRAPHY, min);
  const fit = estimateHomography(m.src, m.dst, options);
  if (!fit) throw new Error(`${COMPUTE_HOMOGRAPHY} on edge (${source}, ${destination}): no homography found from ${m.ids.length} matches (degenerate or too few inliers)`);
  const inlierResiduals = fit.residuals.filter((_, i) => fit.mask[i]);
  const weights = {
    homography_rms: rms(inlierResiduals),
    homography_max: inlierResiduals.reduce((a, b) => Math.max(a, b), 0),
    homography_inliers: fit.inliers,
    homography_matches: m.ids.length,
  };
  await storeEdgeFit(ctx.db, source, destination, "homography", fit.matrix, "homography", m.ids.filter((_, i) => fit.mask[i]), weights);
  return weights;
}
