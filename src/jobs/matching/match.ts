/**
 * `match` (edge): brute-force k-nearest-neighbour matching of the two images' stored descriptors with Lowe's
 * ratio test (AutoCNet's edge `match`), source (smaller id) as query → matches rows.
 *
 * kwargs: `ratio` (Lowe, default 0.8), `cross_check` (also the best match in reverse, default false),
 * `max_shift` (pixels; drop matches whose destination is further than this from where the two a-priori
 * georeferences put the source feature — off by default).
 *
 * Every row records the source feature's ground position (lat, lon) and its a-priori position in the
 * destination (destination_apriori_x/y), so shift_x/y = measured − a priori. A re-run replaces the edge's
 * matches and clears the edge's fits made from the old ones (see replaceMatches). Returns `{matches}`.
 */
import { matchFeatures } from "../../vision/features";
import type { JobContext } from "../../worker/registry";
import { edgeTarget, ensureOpenCv, Kwargs, loadFeatures, loadImageRecords, matchRows, replaceMatches } from "./common";

export const MATCH = "match";

export async function matchJob(ctx: JobContext): Promise<{ matches: number; candidates: number }> {
  const [source, destination] = edgeTarget(ctx, MATCH);
  const k = new Kwargs(MATCH, ctx.kwargs);
  const ratio = k.number("ratio", 0.8, { min: 0, max: 1, exclusiveMin: true });
  const crossCheck = k.boolean("cross_check", false);
  const maxShift = k.optionalNumber("max_shift", { min: 0, exclusiveMin: true });
  await ensureOpenCv();
  const records = await loadImageRecords(ctx.db, [source, destination]);
  const src = await loadFeatures(ctx.db, source, MATCH);
  const dst = await loadFeatures(ctx.db, destination, MATCH);
  if (src.descriptorType !== dst.descriptorType || src.descriptorSize !== dst.descriptorSize) {
    throw new Error(`${MATCH}: images ${source} (${src.method}) and ${destination} (${dst.method}) have different descriptors; extract features with one method`);
  }
  const found = matchFeatures(src, dst, { ratio, crossCheck });
  let rows = matchRows(src, dst, found.map((m) => ({ s: m.queryIdx, d: m.trainIdx, distance: m.distance })),
    records.get(source)!.georef, records.get(destination)!.georef);
  if (maxShift !== undefined) {
    rows = rows.filter((r) => Math.hypot(r.destinationX - r.destinationAprioriX, r.destinationY - r.destinationAprioriY) <= maxShift);
  }
  await replaceMatches(ctx.db, source, destination, rows, ctx.jobId, null);
  return { matches: rows.length, candidates: found.length };
}
