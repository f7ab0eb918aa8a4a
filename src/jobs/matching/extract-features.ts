/**
 * `extract_features` (node): keypoints and descriptors of one image → its `keypoints` row (AutoCNet's
 * `extract_features`; ORB, AKAZE or KAZE, as OpenCV.js has no SIFT).
 *
 * kwargs: `method` orb (default) | akaze | kaze; `nfeatures` (default 2000; ORB's budget, for AKAZE/KAZE the
 * strongest kept); `threshold` (AKAZE/KAZE); `scale_factor`, `nlevels`, `edge_threshold`, `fast_threshold`,
 * `patch_size` (ORB); `mask_margin` (pixels next to no-data excluded, default 16).
 *
 * The whole image is read (fine for frames up to some tens of megapixels). A re-run replaces the row (upsert
 * by image id). Returns `{nkeypoints}`.
 */
import { extractFeatures, type FeatureMethod } from "../../vision/features";
import type { JobContext } from "../../worker/registry";
import { encodeDescriptors, encodeKeypoints, ensureOpenCv, idTarget, ImageReader, Kwargs, loadImageRecords } from "./common";

export const EXTRACT_FEATURES = "extract_features";

export async function extractFeaturesJob(ctx: JobContext): Promise<{ nkeypoints: number; method: string }> {
  const imageId = idTarget(ctx, EXTRACT_FEATURES, "image");
  const k = new Kwargs(EXTRACT_FEATURES, ctx.kwargs);
  const method = k.choice<FeatureMethod>("method", "orb", ["orb", "akaze", "kaze"]);
  const options = {
    method,
    nfeatures: k.number("nfeatures", 2000, { integer: true, min: 1 }),
    threshold: k.optionalNumber("threshold", { min: 0, exclusiveMin: true }),
    scaleFactor: k.optionalNumber("scale_factor", { min: 1, exclusiveMin: true }),
    nlevels: k.optionalNumber("nlevels", { integer: true, min: 1 }),
    edgeThreshold: k.optionalNumber("edge_threshold", { integer: true, min: 0 }),
    fastThreshold: k.optionalNumber("fast_threshold", { integer: true, min: 0 }),
    patchSize: k.optionalNumber("patch_size", { integer: true, min: 2 }),
    maskMargin: k.optionalNumber("mask_margin", { integer: true, min: 0 }),
  };
  await ensureOpenCv();
  const reader = new ImageReader(await loadImageRecords(ctx.db, [imageId]));
  let features;
  try {
    const raster = await reader.readAll(imageId);
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error("aborted");
    features = extractFeatures(raster, options);
  } finally {
    await reader.close();
  }
  const n = features.keypoints.length;
  const hull = convexHull(features.keypoints.map((p) => [p.x, p.y] as [number, number]));
  await ctx.db.query(
    `INSERT INTO keypoints (image_id, method, nkeypoints, keypoints, descriptors, descriptor_size, descriptor_type, convex_hull_image, job_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (image_id) DO UPDATE SET method = EXCLUDED.method, nkeypoints = EXCLUDED.nkeypoints, keypoints = EXCLUDED.keypoints,
       descriptors = EXCLUDED.descriptors, descriptor_size = EXCLUDED.descriptor_size, descriptor_type = EXCLUDED.descriptor_type,
       convex_hull_image = EXCLUDED.convex_hull_image, job_id = EXCLUDED.job_id, created_at = now()`,
    [imageId, method, n, encodeKeypoints(features.keypoints), encodeDescriptors(features.descriptors), features.descriptorSize,
      features.descriptors instanceof Float32Array ? "float32" : "uint8",
      hull.length >= 3 ? JSON.stringify({ type: "Polygon", coordinates: [[...hull, hull[0]]] }) : null, ctx.jobId],
  );
  return { nkeypoints: n, method };
}

/** Convex hull (Andrew's monotone chain), counter-clockwise in x/y, without repeating the first point. */
export function convexHull(points: [number, number][]): [number, number][] {
  const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length < 3) return pts;
  const cross = (o: [number, number], a: [number, number], b: [number, number]) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: [number, number][] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: [number, number][] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0) upper.pop();
    upper.push(p);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}
