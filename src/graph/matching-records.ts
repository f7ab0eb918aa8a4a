/**
 * What the matching jobs stored, read back as plain objects for notebooks and displays: an image's keypoints
 * (`keypoints` table) and an edge's matches with the outlier filters' verdicts (`matches` and `edges.masks`).
 * Pixel convention of src/image/raster.ts (0-based, pixel centres at integers), as stored.
 */
import type { Database } from "../database/database";
import { decodeKeypoints } from "../jobs/matching/common";
import type { Keypoint } from "../vision/features";

/** An image's stored keypoints (extract_features), or none. */
export async function readKeypoints(db: Database, imageId: number): Promise<{ method: string; keypoints: Keypoint[] } | undefined> {
  const [row] = await db.query<{ method: string; keypoints: Uint8Array }>("SELECT method, keypoints FROM keypoints WHERE image_id = $1", [imageId]);
  return row ? { method: row.method, keypoints: decodeKeypoints(row.keypoints) } : undefined;
}

/** One stored match: positions in the source and destination images, and the fits that kept it. */
export interface MatchRecord {
  id: number;
  source: number;
  destination: number;
  sourceX: number;
  sourceY: number;
  destinationX: number;
  destinationY: number;
  /** Where the source feature is in the destination through the two a-priori georeferences. */
  destinationAprioriX: number;
  destinationAprioriY: number;
  distance: number;
  /** Kept by compute_homography's RANSAC (undefined: no homography on this edge yet). */
  homographyInlier?: boolean;
  /** Kept by compute_fundamental_matrix (undefined: not run). */
  fundamentalInlier?: boolean;
}

/** An edge's matches in id order (source < destination, as stored), with the homography and fundamental verdicts. */
export async function readMatches(db: Database, source: number, destination: number): Promise<{ matches: MatchRecord[]; homography: number[] | null; weights: Record<string, number> }> {
  const [s, d] = source < destination ? [source, destination] : [destination, source];
  const [edge] = await db.query<{ homography: number[] | null; masks: string | null; weights: string | null }>(
    "SELECT homography, masks, weights FROM edges WHERE source = $1 AND destination = $2", [s, d]);
  const masks = edge?.masks ? (JSON.parse(edge.masks) as Record<string, number[]>) : {};
  const kept = (name: string) => (masks[name] ? new Set(masks[name]!.map(Number)) : undefined);
  const h = kept("homography");
  const f = kept("fundamental");
  const rows = await db.query<Record<string, unknown>>(
    `SELECT id, source_x, source_y, destination_x, destination_y, destination_apriori_x, destination_apriori_y, distance
       FROM matches WHERE source = $1 AND destination = $2 ORDER BY id`, [s, d]);
  const matches = rows.map((r) => {
    const id = Number(r.id);
    const m: MatchRecord = {
      id, source: s, destination: d, sourceX: Number(r.source_x), sourceY: Number(r.source_y),
      destinationX: Number(r.destination_x), destinationY: Number(r.destination_y),
      destinationAprioriX: Number(r.destination_apriori_x), destinationAprioriY: Number(r.destination_apriori_y), distance: Number(r.distance),
    };
    if (h) m.homographyInlier = h.has(id);
    if (f) m.fundamentalInlier = f.has(id);
    return m;
  });
  return {
    matches,
    homography: edge?.homography?.map(Number) ?? null,
    weights: edge?.weights ? (JSON.parse(edge.weights) as Record<string, number>) : {},
  };
}
