/**
 * The matching pipeline as job functions, under AutoCNet's names: a campaign runs
 * extract_features (nodes) → match | ring_match (edges) → compute_homography / compute_fundamental_matrix
 * (edges) → place_points_in_overlap (edges) → subpixel_register_point (points, `on: 'points'`), then
 * `ncg.toIsis(path)`. Each job reads what it needs from the database and the image files and writes its
 * results there itself, replacing what an earlier run of the same job wrote (one statement per job).
 */
import type { JobRegistry } from "../../worker/registry";
import { computeFundamentalJob, COMPUTE_FUNDAMENTAL_MATRIX } from "./compute-fundamental";
import { computeHomographyJob, COMPUTE_HOMOGRAPHY } from "./compute-homography";
import { EXTRACT_FEATURES, extractFeaturesJob } from "./extract-features";
import { MATCH, matchJob } from "./match";
import { PLACE_POINTS_IN_OVERLAP, placePointsJob } from "./place-points";
import { RING_MATCH, RING_MATCH_LADDER, ringMatchJob, ringMatchPolicy } from "./ring-match";
import { SUBPIXEL_REGISTER_POINT, subpixelRegisterPointJob } from "./subpixel-register-point";

export { computeFundamentalJob, computeHomographyJob, extractFeaturesJob, matchJob, placePointsJob, ringMatchJob, subpixelRegisterPointJob };
export { RING_MATCH_LADDER, ringMatchPolicy };
export { decodeDescriptors, decodeKeypoints, encodeDescriptors, encodeKeypoints, loadFeatures, pixelJacobian } from "./common";

/** The matching job names, in pipeline order. */
export const MATCHING_JOBS = [
  EXTRACT_FEATURES, MATCH, RING_MATCH, COMPUTE_HOMOGRAPHY, COMPUTE_FUNDAMENTAL_MATRIX, PLACE_POINTS_IN_OVERLAP, SUBPIXEL_REGISTER_POINT,
] as const;

export function registerMatchingJobs(registry: JobRegistry): JobRegistry {
  registry.register(EXTRACT_FEATURES, extractFeaturesJob);
  registry.register(MATCH, matchJob);
  registry.register(RING_MATCH, ringMatchJob, ringMatchPolicy());
  registry.register(COMPUTE_HOMOGRAPHY, computeHomographyJob);
  registry.register(COMPUTE_FUNDAMENTAL_MATRIX, computeFundamentalJob);
  registry.register(PLACE_POINTS_IN_OVERLAP, placePointsJob);
  registry.register(SUBPIXEL_REGISTER_POINT, subpixelRegisterPointJob);
  return registry;
}
