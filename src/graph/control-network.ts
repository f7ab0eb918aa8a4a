/**
 * The campaign's control network: points and measures read back from the database as plain objects, and
 * the ISIS control network (`.net`) with its image list (`.lis`) made from them (AutoCNet's `NCG.to_isis`).
 *
 * What is exported (AutoCNet's `db_to_df` rules):
 * - points that are not ignored, and of their measures those neither ignored nor jigsaw-rejected;
 * - images with fewer than `minPointsPerImage` such points (default 3, as AutoCNet: a bundle adjustment cannot
 *   hold an image by fewer) lose their measures; then points left with fewer than 2 measures are dropped; the
 *   two rules are applied until nothing changes;
 * - point id `<identifier>_<point id>`; point type 2 free / 3 constrained / 4 fixed; the reference measure's
 *   index among the exported measures (absent if it was dropped); the a-priori surface point only for
 *   constrained and fixed points (for free points ISIS computes it from the measures, as AutoCNet leaves it);
 * - each measure's serial number from `images.serial`, its type (0 candidate, 1 manual, 2 pixel, 3 sub-pixel),
 *   chooser name, and sample/line and a-priori sample/line converted from our pixel convention (0-based, centres
 *   at integers) to ISIS's with toIsisSampleLine — here and nowhere else.
 * The `.lis` lists the files of the images in the network, by image id.
 */
import * as path from "path";
import {
  ControlNetError,
  isisTimestamp,
  toIsisSampleLine,
  writeControlNetwork,
  writeImageList,
  type ControlMeasure,
  type ControlNetwork,
  type ControlPoint,
  type PointType,
} from "../controlnet";
import { MEASURE_TYPES } from "../controlnet/model";
import type { Database } from "../database/database";

/** A row of the points table, as a plain object. */
export interface PointRecord {
  id: number;
  pointType: number;
  identifier: string | null;
  overlapId: number | null;
  /** A-priori lon/lat, degrees (points.geom). */
  lon: number | null;
  lat: number | null;
  apriori: { x: number; y: number; z: number } | null;
  adjusted: { x: number; y: number; z: number } | null;
  ignore: boolean;
  /** Index, in measure id order, of the reference measure. */
  referenceIndex: number;
  residuals: number[] | null;
  maxResidual: number | null;
  jobId: string | null;
}

/** A row of the measures table, as a plain object; sample/line in our pixel convention (ISIS − 1). */
export interface MeasureRecord {
  id: number;
  pointId: number;
  imageId: number;
  serialNumber: string;
  measureType: number;
  sample: number;
  line: number;
  aprioriSample: number | null;
  aprioriLine: number | null;
  templateMetric: number | null;
  templateShift: number | null;
  phaseError: number | null;
  phaseDiff: number | null;
  phaseShift: number | null;
  chooserName: string | null;
  ignore: boolean;
  jigsawRejected: boolean;
  weight: number | null;
  rms: number | null;
  sampleResidual: number | null;
  lineResidual: number | null;
  residual: number | null;
  sampleSigma: number | null;
  lineSigma: number | null;
  jobId: string | null;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export interface ReadPointsOptions {
  /** Only these point ids. */
  ids?: readonly number[];
  /** Leave out ignored points (default: all points). */
  excludeIgnored?: boolean;
}

/** The points table as plain objects, by id. */
export async function readPoints(db: Database, options: ReadPointsOptions = {}): Promise<PointRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (options.ids) {
    params.push([...options.ids]);
    where.push(`id = ANY($${params.length}::int[])`);
  }
  if (options.excludeIgnored) where.push("NOT pointignore");
  const rows = await db.query<Record<string, unknown>>(
    `SELECT * FROM points ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id`, params);
  return rows.map((r) => {
    let lon: number | null = null;
    let lat: number | null = null;
    if (typeof r.geom === "string") {
      try {
        const c = (JSON.parse(r.geom) as { coordinates?: unknown }).coordinates;
        if (Array.isArray(c) && c.length >= 2) [lon, lat] = [Number(c[0]), Number(c[1])];
      } catch {
        // not GeoJSON: left null
      }
    }
    const xyz = (p: string) => (r[`${p}x`] === null || r[`${p}x`] === undefined ? null
      : { x: Number(r[`${p}x`]), y: Number(r[`${p}y`]), z: Number(r[`${p}z`]) });
    return {
      id: Number(r.id), pointType: Number(r.pointtype), identifier: (r.identifier as string | null) ?? null, overlapId: num(r.overlapid),
      lon, lat, apriori: xyz("apriori"), adjusted: xyz("adjusted"), ignore: Boolean(r.pointignore),
      referenceIndex: Number(r.referenceindex), residuals: (r.residuals as number[] | null)?.map(Number) ?? null,
      maxResidual: num(r.maxresidual), jobId: (r.job_id as string | null) ?? null,
    };
  });
}

export interface ReadMeasuresOptions {
  /** Only the measures of these points. */
  pointIds?: readonly number[];
  /** Leave out ignored and jigsaw-rejected measures (default: all measures). */
  excludeIgnored?: boolean;
}

/** The measures table as plain objects, by point id then measure id. */
export async function readMeasures(db: Database, options: ReadMeasuresOptions = {}): Promise<MeasureRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (options.pointIds) {
    params.push([...options.pointIds]);
    where.push(`pointid = ANY($${params.length}::int[])`);
  }
  if (options.excludeIgnored) where.push("NOT measureignore AND NOT measurejigsawrejected");
  const rows = await db.query<Record<string, unknown>>(
    `SELECT * FROM measures ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY pointid, id`, params);
  return rows.map((r) => ({
    id: Number(r.id), pointId: Number(r.pointid), imageId: Number(r.imageid), serialNumber: String(r.serialnumber),
    measureType: Number(r.measuretype), sample: Number(r.sample), line: Number(r.line),
    aprioriSample: num(r.apriorisample), aprioriLine: num(r.aprioriline), templateMetric: num(r.templatemetric),
    templateShift: num(r.templateshift), phaseError: num(r.phaseerror), phaseDiff: num(r.phasediff), phaseShift: num(r.phaseshift),
    chooserName: (r.choosername as string | null) ?? null, ignore: Boolean(r.measureignore), jigsawRejected: Boolean(r.measurejigsawrejected),
    weight: num(r.weight), rms: num(r.rms), sampleResidual: num(r.sampler), lineResidual: num(r.liner), residual: num(r.residual),
    sampleSigma: num(r.samplesigma), lineSigma: num(r.linesigma), jobId: (r.job_id as string | null) ?? null,
  }));
}

export interface CampaignNetworkOptions {
  /** ISIS NetworkId (default "autocnet"). */
  networkId?: string;
  /** ISIS TargetName; default from the images' sphere radius (Moon, Mars, Mercury, Earth), else required. */
  targetName?: string;
  description?: string;
  userName?: string;
  /** Images with fewer exported points lose their measures (default 3, AutoCNet's); 0 keeps every image. */
  minPointsPerImage?: number;
}

/** An exported network and what it came from. */
export interface CampaignNetwork {
  network: ControlNetwork;
  /** The images in the network, by id: their files go to the `.lis`. */
  images: { id: number; name: string; path: string | null; serial: string }[];
  /** Images left out for having fewer than minPointsPerImage points. */
  droppedImages: number[];
  /** The database id of each exported point, in network order. */
  pointIds: number[];
}

/** Body radii (metres) of the spheres this library's georeferences use, to name the target. */
const TARGETS: [string, number][] = [["Moon", 1_737_400], ["Mars", 3_396_190], ["Mercury", 2_439_400], ["Earth", 6_378_137]];

const POINT_TYPES: Record<number, PointType> = { 2: "free", 3: "constrained", 4: "fixed" };

interface ExportRow {
  pointid: number;
  identifier: string | null;
  pointtype: number;
  reference_id: number | null;
  apriorix: number | null;
  aprioriy: number | null;
  aprioriz: number | null;
  id: number;
  imageid: number;
  measuretype: number;
  sample: number;
  line: number;
  apriorisample: number | null;
  aprioriline: number | null;
  choosername: string | null;
  serial: string | null;
  name: string;
  path: string | null;
  georef: string | null;
}

/** The campaign's ISIS control network, built from the points and measures tables (see the file comment). */
export async function campaignControlNetwork(db: Database, options: CampaignNetworkOptions = {}): Promise<CampaignNetwork> {
  const minPerImage = options.minPointsPerImage ?? 3;
  const rows = (await db.query<ExportRow>(
    `SELECT p.id AS pointid, p.identifier, p.pointtype, p.apriorix, p.aprioriy, p.aprioriz,
            (SELECT r.id FROM measures r WHERE r.pointid = p.id ORDER BY r.id OFFSET p.referenceindex LIMIT 1) AS reference_id,
            m.id, m.imageid, m.measuretype, m.sample, m.line, m.apriorisample, m.aprioriline, m.choosername,
            i.serial, i.name, i.path, i.georef
       FROM points p JOIN measures m ON m.pointid = p.id JOIN images i ON i.id = m.imageid
      WHERE NOT p.pointignore AND NOT m.measureignore AND NOT m.measurejigsawrejected
      ORDER BY p.id, m.id`)).map((r) => ({ ...r, pointid: Number(r.pointid), id: Number(r.id), imageid: Number(r.imageid) }));

  // Drop thin images and thin points until both rules hold.
  let kept = rows;
  const droppedImages = new Set<number>();
  for (;;) {
    const byPoint = new Map<number, number>();
    for (const r of kept) byPoint.set(r.pointid, (byPoint.get(r.pointid) ?? 0) + 1);
    let next = kept.filter((r) => byPoint.get(r.pointid)! >= 2);
    const perImage = new Map<number, Set<number>>();
    for (const r of next) {
      if (!perImage.has(r.imageid)) perImage.set(r.imageid, new Set());
      perImage.get(r.imageid)!.add(r.pointid);
    }
    for (const [image, pts] of perImage) if (pts.size < minPerImage) droppedImages.add(image);
    next = next.filter((r) => !droppedImages.has(r.imageid));
    if (next.length === kept.length) break;
    kept = next;
  }

  const points: ControlPoint[] = [];
  const pointIds: number[] = [];
  const images = new Map<number, CampaignNetwork["images"][number]>();
  const radii = new Set<number>();
  for (let i = 0; i < kept.length;) {
    const first = kept[i]!;
    const group: ExportRow[] = [];
    while (i < kept.length && kept[i]!.pointid === first.pointid) group.push(kept[i++]!);
    const type = POINT_TYPES[Number(first.pointtype)] ?? "free";
    const measures: ControlMeasure[] = group.map((r) => {
      if (!r.serial) throw new ControlNetError(`image ${r.imageid} (${r.name}) has no serial number; add it again with ncg.addImages`);
      images.set(r.imageid, { id: r.imageid, name: r.name, path: r.path, serial: r.serial });
      if (r.georef) radii.add(Number((JSON.parse(r.georef) as { radius: number }).radius));
      const { sample, line } = toIsisSampleLine(Number(r.sample), Number(r.line));
      const m: ControlMeasure = { serialNumber: r.serial, type: MEASURE_TYPES[Number(r.measuretype)] ?? "candidate", sample, line };
      if (r.apriorisample !== null && r.aprioriline !== null) {
        const a = toIsisSampleLine(Number(r.apriorisample), Number(r.aprioriline));
        m.aprioriSample = a.sample;
        m.aprioriLine = a.line;
      }
      if (r.choosername) m.chooserName = r.choosername;
      return m;
    });
    const point: ControlPoint = { id: `${first.identifier ?? "autocnet"}_${first.pointid}`, type, measures };
    const refIndex = group.findIndex((r) => first.reference_id !== null && r.id === Number(first.reference_id));
    if (refIndex >= 0) point.referenceIndex = refIndex;
    if (type !== "free" && first.apriorix !== null && first.aprioriy !== null && first.aprioriz !== null) {
      point.aprioriSurfacePoint = { x: Number(first.apriorix), y: Number(first.aprioriy), z: Number(first.aprioriz) };
    }
    points.push(point);
    pointIds.push(first.pointid);
  }
  const now = isisTimestamp();
  const network: ControlNetwork = {
    networkId: options.networkId ?? "autocnet",
    targetName: options.targetName ?? targetOf(radii),
    userName: options.userName ?? "autocnet-ts",
    created: now,
    lastModified: now,
    description: options.description ?? "written by autocnet-ts",
    points,
  };
  return { network, images: [...images.values()].sort((a, b) => a.id - b.id), droppedImages: [...droppedImages].sort((a, b) => a - b), pointIds };
}

function targetOf(radii: Set<number>): string {
  if (radii.size === 0) return "Unknown";
  const names = [...radii].map((r) => TARGETS.find(([, t]) => Math.abs(t - r) < 1)?.[0]);
  if (names.every((n) => n !== undefined && n === names[0])) return names[0]!;
  throw new ControlNetError(`cannot tell the target body from the images' radii (${[...radii].join(", ")} m); give targetName`);
}

export interface WriteCampaignNetworkOptions extends CampaignNetworkOptions {
  /** The image list; default the network's path with the extension `.lis` (as AutoCNet). */
  listPath?: string;
  /** ISIS control network version 2 (default) or 5. */
  version?: 2 | 5;
}

export interface WriteCampaignNetworkReport {
  path: string;
  listPath: string;
  points: number;
  measures: number;
  images: number;
  droppedImages: number[];
}

/** Writes the campaign's control network and its image list (see campaignControlNetwork). */
export async function writeCampaignControlNetwork(db: Database, file: string, options: WriteCampaignNetworkOptions = {}): Promise<WriteCampaignNetworkReport> {
  const built = await campaignControlNetwork(db, options);
  if (built.network.points.length === 0) {
    throw new ControlNetError(`${file}: no point to export (none with 2 or more accepted measures); run place_points_in_overlap and subpixel_register_point first`, file);
  }
  const missing = built.images.filter((i) => !i.path);
  if (missing.length > 0) {
    throw new ControlNetError(`${file}: image(s) ${missing.map((i) => i.name).join(", ")} have no file path for the .lis; add them from their files`, file);
  }
  const listPath = options.listPath ?? path.join(path.dirname(file), `${path.basename(file, path.extname(file))}.lis`);
  await writeControlNetwork(file, built.network, { version: options.version ?? 2 });
  await writeImageList(listPath, built.images.map((i) => i.path!));
  return {
    path: file, listPath, points: built.network.points.length,
    measures: built.network.points.reduce((n, p) => n + p.measures.length, 0), images: built.images.length, droppedImages: built.droppedImages,
  };
}
