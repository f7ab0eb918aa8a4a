import type { Database } from "../database/database";
import { readMeasures, readPoints } from "../graph/control-network";
import { loadGroundTruth, trueMeasure } from "./truth-table";

/** One registered measure's error: registered − true position, pixels (image/raster.ts convention). */
export interface MeasureError {
  pointId: number;
  image: string;
  x: number;
  y: number;
  dx: number;
  dy: number;
}

export interface RegistrationAccuracy {
  /** points placed (with measures in images that have ground truth) */
  points: number;
  /** points with at least two accepted measures (not ignored) */
  registeredPoints: number;
  /** accepted non-reference measures compared with the truth */
  measures: number;
  rms: number;
  max: number;
  /** the same for the measures' a-priori positions (what the a-priori georeferences said) */
  aprioriRms: number;
  errors: MeasureError[];
}

/**
 * How well the campaign's registered measures match the exact ground truth (`ground_truth` table): for every
 * accepted measure other than a point's reference, where the ground feature at the reference measure truly
 * is in that image, against where registration put it.
 */
export async function registrationAccuracy(db: Database): Promise<RegistrationAccuracy> {
  const truth = await loadGroundTruth(db);
  const names = new Map((await db.query<{ id: number; name: string }>("SELECT id, name FROM images")).map((r) => [Number(r.id), r.name]));
  const points = await readPoints(db);
  const measures = await readMeasures(db);
  const byPoint = new Map<number, typeof measures>();
  for (const m of measures) {
    const list = byPoint.get(m.pointId) ?? [];
    list.push(m);
    byPoint.set(m.pointId, list);
  }
  const errors: MeasureError[] = [];
  let placed = 0, registered = 0, aprioriSq = 0, aprioriN = 0;
  for (const p of points) {
    const ms = (byPoint.get(p.id) ?? []).sort((a, b) => a.id - b.id);
    const ref = ms[p.referenceIndex];
    const refName = ref ? names.get(ref.imageId) : undefined;
    if (!ref || !refName || !truth.has(refName)) continue;
    placed++;
    if (!p.ignore && ms.filter((m) => !m.ignore).length >= 2) registered++;
    for (const m of ms) {
      const name = names.get(m.imageId);
      if (m === ref || !name || !truth.has(name)) continue;
      const t = trueMeasure(truth, refName, { x: ref.sample, y: ref.line }, name);
      if (m.aprioriSample !== null && m.aprioriLine !== null) {
        aprioriSq += (m.aprioriSample - t.x) ** 2 + (m.aprioriLine - t.y) ** 2;
        aprioriN++;
      }
      if (m.ignore || p.ignore) continue;
      errors.push({ pointId: p.id, image: name, x: m.sample, y: m.line, dx: m.sample - t.x, dy: m.line - t.y });
    }
  }
  const sq = errors.reduce((s, e) => s + e.dx * e.dx + e.dy * e.dy, 0);
  return {
    points: placed, registeredPoints: registered, measures: errors.length,
    rms: errors.length ? Math.sqrt(sq / errors.length) : NaN,
    max: errors.reduce((m, e) => Math.max(m, Math.hypot(e.dx, e.dy)), 0),
    aprioriRms: aprioriN ? Math.sqrt(aprioriSq / aprioriN) : NaN,
    errors,
  };
}
