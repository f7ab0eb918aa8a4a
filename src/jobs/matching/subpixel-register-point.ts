/**
 * `subpixel_register_point` (point): registers every measure of a point against its reference measure
 * (AutoCNet 2021's `subpixel_register_point`), with `subpixelRegister` (src/vision/subpixel.ts).
 *
 * For each measure m other than the reference r (measures in id order, r = points.referenceindex):
 * - the template is taken from r's image at (r.sample, r.line), pre-warped by the a-priori linear map between the
 *   two images (the Jacobian of m's pixel with respect to r's pixel through the ground, from the georeferences:
 *   small rotations and scale changes do not cost accuracy), and searched in m's image about m's a-priori
 *   position (apriorisample, aprioriline; sample/line if those are null);
 * - shift = distance from the a-priori position to the registered one, metric = the ZNCC there;
 *   cost = metric / shift² (AutoCNet's cost_func; shift floored at 0.001 px so the cost stays finite);
 * - accepted when the registration succeeded (status ok: the correlation ≥ `min_metric`, peak inside the search
 *   window, data all there) and cost > `threshold`: sample/line = the registered position, measuretype 3,
 *   templatemetric = metric, templateshift = shift, weight = cost, choosername = `chooser`, measureignore false;
 * - otherwise measureignore = true, sample/line back to the a-priori position, measuretype 0 (candidate),
 *   choosername back to the point's identifier (what place_points_in_overlap wrote), the metric and shift recorded
 *   when there are any.
 * The reference measure gets templatemetric 1, templateshift 0, measureignore false (AutoCNet does the same).
 * The point is ignored (pointignore) when fewer than 2 measures (the reference included) are accepted.
 *
 * kwargs: `template_size` (odd, default 31), `search_size` (odd, default 61), `method` template (default) |
 * phase, `threshold` (default 0.005, AutoCNet's), `min_metric` (default 0.5), `affine` (default true: pre-warp),
 * `chooser` (default 'subpixel_register_point').
 *
 * Every run starts from the a-priori positions and overwrites every field it sets on every measure of the
 * point in one statement: a re-run writes the same (AutoCNet instead keeps a previous better-weighted result).
 * Returns counts and the per-measure outcome.
 */
import { subpixelRegister, type Linear2, type SubpixelStatus } from "../../vision/subpixel";
import type { JobContext } from "../../worker/registry";
import { ensureOpenCv, idTarget, ImageReader, Kwargs, loadImageRecords, pixelJacobian, type ImageWindow } from "./common";

export const SUBPIXEL_REGISTER_POINT = "subpixel_register_point";

/** Pixels read around a template or search window beyond its half size: spline support and prefilter margin. */
const READ_MARGIN = 14;

interface MeasureRow {
  id: number;
  imageid: number;
  measuretype: number;
  sample: number;
  line: number;
  apriorisample: number | null;
  aprioriline: number | null;
}

export interface MeasureOutcome {
  id: number;
  imageId: number;
  status: SubpixelStatus | "reference" | "cost";
  accepted: boolean;
  metric?: number;
  shift?: number;
  cost?: number;
}

export async function subpixelRegisterPointJob(ctx: JobContext): Promise<{ point: number; accepted: number; rejected: number; ignored: boolean; measures: MeasureOutcome[] }> {
  const pointId = idTarget(ctx, SUBPIXEL_REGISTER_POINT, "point");
  const k = new Kwargs(SUBPIXEL_REGISTER_POINT, ctx.kwargs);
  const templateSize = k.oddInteger("template_size", 31, 5);
  const searchSize = k.oddInteger("search_size", 61, 7);
  if (searchSize < templateSize + 2) throw new Error(`${SUBPIXEL_REGISTER_POINT}: search_size (${searchSize}) must be at least template_size + 2 (${templateSize + 2})`);
  const method = k.choice<"template" | "phase">("method", "template", ["template", "phase"]);
  const threshold = k.number("threshold", 0.005);
  const minMetric = k.number("min_metric", 0.5, { min: -1, max: 1 });
  const useAffine = k.boolean("affine", true);
  const chooser = k.string("chooser", SUBPIXEL_REGISTER_POINT);

  const [point] = await ctx.db.query<{ id: number; referenceindex: number; identifier: string | null }>("SELECT id, referenceindex, identifier FROM points WHERE id = $1", [pointId]);
  if (!point) throw new Error(`${SUBPIXEL_REGISTER_POINT}: point ${pointId} is not in the points table`);
  const measures = (await ctx.db.query<MeasureRow>(
    "SELECT id, imageid, measuretype, sample, line, apriorisample, aprioriline FROM measures WHERE pointid = $1 ORDER BY id", [pointId]))
    .map((r) => ({ ...r, id: Number(r.id), imageid: Number(r.imageid), measuretype: Number(r.measuretype) }));
  const refIndex = Number(point.referenceindex);
  const ref = measures[refIndex];
  if (!ref) throw new Error(`${SUBPIXEL_REGISTER_POINT}: point ${pointId} has ${measures.length} measures, no reference measure at index ${refIndex}`);
  await ensureOpenCv();
  const records = await loadImageRecords(ctx.db, measures.map((m) => m.imageid));
  const reader = new ImageReader(records);
  const refRec = records.get(ref.imageid)!;
  const refPoint = { x: Number(ref.sample), y: Number(ref.line) };
  const outcomes: MeasureOutcome[] = [];
  // chooser undefined: leave the measure's choosername as it is (the reference's)
  const updates: { id: number; x: number; y: number; type: number; metric: number | null; shift: number | null; weight: number | null; chooser: string | null | undefined; ignore: boolean }[] = [];
  try {
    for (const [i, m] of measures.entries()) {
      if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error("aborted");
      if (i === refIndex) continue;
      const rec = records.get(m.imageid)!;
      const apriori = { x: Number(m.apriorisample ?? m.sample), y: Number(m.aprioriline ?? m.line) };
      const affine: Linear2 | undefined = useAffine ? pixelJacobian(refRec.georef, rec.georef) : undefined;
      // The template reaches h·|A⁻¹| about refPoint in the reference; the search window (s − 1)/2 about apriori.
      const h = (templateSize - 1) / 2;
      const reach = affine ? h * inverseReach(affine) : h;
      const refWin = await reader.readWindow(ref.imageid, refPoint.x - reach - READ_MARGIN, refPoint.y - reach - READ_MARGIN, refPoint.x + reach + READ_MARGIN, refPoint.y + reach + READ_MARGIN);
      const hs = (searchSize - 1) / 2;
      const movWin = await reader.readWindow(m.imageid, apriori.x - hs - READ_MARGIN, apriori.y - hs - READ_MARGIN, apriori.x + hs + READ_MARGIN, apriori.y + hs + READ_MARGIN);
      const result = refWin && movWin
        ? registerIn(refWin, refPoint, movWin, apriori, { templateSize, searchSize, method, minMetric, affine })
        : { x: apriori.x, y: apriori.y, metric: NaN, status: "edge" as const };
      const registered = result.status === "ok";
      const shift = registered || Number.isFinite(result.metric) ? Math.hypot(result.x - apriori.x, result.y - apriori.y) : undefined;
      const metric = Number.isFinite(result.metric) ? result.metric : undefined;
      const cost = registered ? result.metric / Math.max(shift!, 1e-3) ** 2 : undefined;
      const accepted = registered && cost! > threshold;
      outcomes.push({ id: m.id, imageId: m.imageid, status: registered && !accepted ? "cost" : result.status, accepted, metric, shift, cost });
      updates.push(accepted
        ? { id: m.id, x: result.x, y: result.y, type: 3, metric: result.metric, shift: shift!, weight: cost!, chooser, ignore: false }
        : { id: m.id, x: apriori.x, y: apriori.y, type: 0, metric: metric ?? null, shift: shift ?? null, weight: null, chooser: point.identifier, ignore: true });
    }
  } finally {
    await reader.close();
  }
  const accepted = outcomes.filter((o) => o.accepted).length;
  const ignored = accepted + 1 < 2;
  // the reference: metric 1, shift 0, kept; its position and type untouched
  updates.push({ id: ref.id, x: refPoint.x, y: refPoint.y, type: ref.measuretype, metric: 1, shift: 0, weight: null, chooser: undefined, ignore: false });
  await ctx.db.query(
    `WITH upd AS (
       UPDATE measures AS m SET sample = u.x, line = u.y, measuretype = u.mtype, templatemetric = u.metric, templateshift = u.shift,
              weight = u.weight, choosername = CASE WHEN u.keep THEN m.choosername ELSE u.chooser END, measureignore = u.ign, job_id = $11
         FROM unnest($2::int[], $3::float8[], $4::float8[], $5::int[], $6::float8[], $7::float8[], $8::float8[], $9::text[], $10::boolean[], $13::boolean[])
              AS u(id, x, y, mtype, metric, shift, weight, chooser, ign, keep)
        WHERE m.id = u.id AND m.pointid = $1
        RETURNING m.id)
     UPDATE points SET pointignore = $12, job_id = $11 WHERE id = $1`,
    [pointId, updates.map((u) => u.id), updates.map((u) => u.x), updates.map((u) => u.y), updates.map((u) => u.type),
      updates.map((u) => u.metric), updates.map((u) => u.shift), updates.map((u) => u.weight), updates.map((u) => u.chooser ?? null),
      updates.map((u) => u.ignore), ctx.jobId, ignored, updates.map((u) => u.chooser === undefined)],
  );
  return { point: pointId, accepted, rejected: outcomes.length - accepted, ignored, measures: outcomes };
}

/** subpixelRegister on two windows: positions in and out are image pixels; the windows' offsets are applied here. */
function registerIn(
  refWin: ImageWindow, refPoint: { x: number; y: number }, movWin: ImageWindow, apriori: { x: number; y: number },
  options: { templateSize: number; searchSize: number; method: "template" | "phase"; minMetric: number; affine?: Linear2 },
) {
  const r = subpixelRegister(
    refWin.raster, { x: refPoint.x - refWin.x0, y: refPoint.y - refWin.y0 },
    movWin.raster, { x: apriori.x - movWin.x0, y: apriori.y - movWin.y0 },
    options,
  );
  return { ...r, x: r.x + movWin.x0, y: r.y + movWin.y0 };
}

/** How far (per unit of template half size) the pre-warped template reaches in the reference: max row sum of |A⁻¹|. */
function inverseReach(a: Linear2): number {
  const [[p, q], [r, s]] = a;
  const det = p * s - q * r;
  return Math.max(Math.abs(s) + Math.abs(q), Math.abs(r) + Math.abs(p)) / Math.abs(det);
}
