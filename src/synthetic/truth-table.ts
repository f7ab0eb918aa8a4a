import type { Database } from "../database/database";
import type { AffineCoefficients, PixelPoint } from "../image/georeference";
import type { SyntheticCampaign } from "./campaign";
import { truePixel } from "./truth";

/** One image's ground truth as the database keeps it (`ground_truth`). */
export interface GroundTruthRow {
  imageName: string;
  campaign?: string;
  radius: number;
  width: number;
  height: number;
  trueAffine: AffineCoefficients;
  aprioriAffine: AffineCoefficients;
}

/**
 * Records a synthetic campaign's exact maps in the `ground_truth` table (by image name; a re-run replaces), so
 * the true position of any measure in any image can be computed from the database alone.
 */
export async function recordGroundTruth(db: Database, campaign: Pick<SyntheticCampaign, "dir" | "radius" | "frames">): Promise<number> {
  for (const f of campaign.frames) {
    await db.query(
      `INSERT INTO ground_truth (image_name, campaign, radius, width, height, true_affine, apriori_affine) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (image_name) DO UPDATE SET campaign = EXCLUDED.campaign, radius = EXCLUDED.radius, width = EXCLUDED.width,
         height = EXCLUDED.height, true_affine = EXCLUDED.true_affine, apriori_affine = EXCLUDED.apriori_affine, recorded_at = now()`,
      [f.name, campaign.dir, campaign.radius, f.width, f.height, JSON.stringify(f.trueAffine), JSON.stringify(f.aprioriAffine)],
    );
  }
  return campaign.frames.length;
}

/** The ground truth of every recorded image, by image name. */
export async function loadGroundTruth(db: Database): Promise<Map<string, GroundTruthRow>> {
  const rows = await db.query<{ image_name: string; campaign: string | null; radius: number; width: number; height: number; true_affine: string; apriori_affine: string }>(
    "SELECT image_name, campaign, radius, width, height, true_affine, apriori_affine FROM ground_truth");
  return new Map(rows.map((r) => [r.image_name, {
    imageName: r.image_name, campaign: r.campaign ?? undefined, radius: Number(r.radius), width: Number(r.width), height: Number(r.height),
    trueAffine: JSON.parse(r.true_affine) as AffineCoefficients, aprioriAffine: JSON.parse(r.apriori_affine) as AffineCoefficients,
  }]));
}

/**
 * Where the ground feature at pixel `p` of image `from` truly is in image `to` (both by name, pixels as in
 * image/raster.ts), from the recorded truth; throws naming the image when it has none recorded.
 */
export function trueMeasure(truth: Map<string, GroundTruthRow>, from: string, p: PixelPoint, to: string): PixelPoint {
  const a = truth.get(from), b = truth.get(to);
  if (!a || !b) throw new Error(`no ground truth recorded for image '${!a ? from : to}' (recordGroundTruth(db, campaign) records a synthetic campaign's)`);
  return truePixel(a, p, b);
}
