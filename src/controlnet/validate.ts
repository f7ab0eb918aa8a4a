/**
 * What a network must satisfy before it is written: what ISIS itself refuses on reading (duplicate point ids,
 * duplicate serial numbers in a point, a reference index past the measures) and what our model promises
 * (finite coordinates, known enum names, well-formed strings).
 */
import {
  APRIORI_SOURCES,
  MEASURE_LOG_TYPES,
  MEASURE_TYPES,
  POINT_TYPE_CODE,
  type ControlMeasure,
  type ControlNetwork,
  type ControlPoint,
  type SurfacePoint,
} from "./model";

/** Lone UTF-16 surrogates cannot be written as UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const MAX_PROBLEMS_LISTED = 10;

class Problems {
  readonly list: string[] = [];
  add(msg: string): void {
    this.list.push(msg);
  }
  str(where: string, field: string, v: unknown, required: boolean): void {
    if (v === undefined && !required) return;
    if (typeof v !== "string") this.add(`${where}: ${field} must be a string, got ${describe(v)}`);
    else if (required && v.length === 0) this.add(`${where}: ${field} is empty; give it a value`);
    else if (LONE_SURROGATE.test(v)) this.add(`${where}: ${field} has a lone UTF-16 surrogate, which UTF-8 cannot hold; fix the string`);
  }
  num(where: string, field: string, v: unknown, required: boolean): void {
    if (v === undefined && !required) return;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      this.add(`${where}: ${field} must be a finite number${required ? "" : " or absent"}, got ${describe(v)}`);
    }
  }
  bool(where: string, field: string, v: unknown): void {
    if (v !== undefined && typeof v !== "boolean") this.add(`${where}: ${field} must be true, false or absent, got ${describe(v)}`);
  }
  oneOf(where: string, field: string, v: unknown, allowed: readonly string[], required: boolean): void {
    if (v === undefined && !required) return;
    if (typeof v !== "string" || !allowed.includes(v)) {
      this.add(`${where}: ${field} must be one of ${allowed.map((a) => `'${a}'`).join(", ")}, got ${describe(v)}`);
    }
  }
}

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  if (typeof v === "number") return String(v);
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v;
}

function checkSurfacePoint(p: Problems, where: string, field: string, sp: SurfacePoint | undefined): void {
  if (sp === undefined) return;
  if (typeof sp !== "object" || sp === null) {
    p.add(`${where}: ${field} must be {x, y, z} in metres, got ${describe(sp)}`);
    return;
  }
  p.num(where, `${field}.x`, sp.x, true);
  p.num(where, `${field}.y`, sp.y, true);
  p.num(where, `${field}.z`, sp.z, true);
  if (sp.covariance !== undefined) {
    const c = sp.covariance as unknown;
    if (!Array.isArray(c) || c.length !== 6 || !c.every((v) => typeof v === "number" && Number.isFinite(v))) {
      p.add(`${where}: ${field}.covariance must be 6 finite numbers (upper triangle XX, XY, XZ, YY, YZ, ZZ in m²), got ${describe(c)}`);
    }
  }
}

function checkMeasure(p: Problems, pointWhere: string, m: ControlMeasure, j: number): void {
  const where = `${pointWhere}, measure ${j}${typeof m?.serialNumber === "string" && m.serialNumber ? ` ('${m.serialNumber}')` : ""}`;
  if (typeof m !== "object" || m === null) {
    p.add(`${where}: not a measure object`);
    return;
  }
  p.str(where, "serialNumber", m.serialNumber, true);
  p.oneOf(where, "type", m.type, MEASURE_TYPES, true);
  p.num(where, "sample", m.sample, true);
  p.num(where, "line", m.line, true);
  for (const f of ["ignore", "editLock", "jigsawRejected"] as const) p.bool(where, f, m[f]);
  for (const f of ["aprioriSample", "aprioriLine", "sampleSigma", "lineSigma", "diameter", "sampleResidual", "lineResidual"] as const) {
    p.num(where, f, m[f], false);
  }
  p.str(where, "chooserName", m.chooserName, false);
  p.str(where, "datetime", m.datetime, false);
  if (m.logData !== undefined) {
    if (!Array.isArray(m.logData)) p.add(`${where}: logData must be an array of {dataType, value}`);
    else {
      m.logData.forEach((e, k) => {
        p.oneOf(where, `logData[${k}].dataType`, e?.dataType, MEASURE_LOG_TYPES.filter((t): t is NonNullable<typeof t> => !!t), true);
        p.num(where, `logData[${k}].value`, e?.value, true);
      });
    }
  }
}

function checkPoint(p: Problems, pt: ControlPoint, i: number): void {
  const where = typeof pt?.id === "string" && pt.id ? `point '${pt.id}' (index ${i})` : `point at index ${i}`;
  if (typeof pt !== "object" || pt === null) {
    p.add(`${where}: not a point object`);
    return;
  }
  if (typeof pt.id !== "string" || pt.id.length === 0) p.add(`${where}: id is empty; every point needs a unique, non-empty id`);
  else p.str(where, "id", pt.id, true);
  p.oneOf(where, "type", pt.type, Object.keys(POINT_TYPE_CODE), true);
  for (const f of ["ignore", "editLock", "jigsawRejected", "latitudeConstrained", "longitudeConstrained", "radiusConstrained"] as const) {
    p.bool(where, f, pt[f]);
  }
  for (const f of ["chooserName", "datetime", "aprioriSurfacePointSourceFile", "aprioriRadiusSourceFile"] as const) {
    p.str(where, f, pt[f], false);
  }
  p.oneOf(where, "aprioriSurfacePointSource", pt.aprioriSurfacePointSource, APRIORI_SOURCES, false);
  p.oneOf(where, "aprioriRadiusSource", pt.aprioriRadiusSource, APRIORI_SOURCES, false);
  checkSurfacePoint(p, where, "aprioriSurfacePoint", pt.aprioriSurfacePoint);
  checkSurfacePoint(p, where, "adjustedSurfacePoint", pt.adjustedSurfacePoint);
  if (!Array.isArray(pt.measures)) {
    p.add(`${where}: measures must be an array`);
    return;
  }
  if (pt.measures.length === 0) {
    p.add(`${where}: has no measures; a control point needs at least one measure — add its measures or drop the point`);
  }
  if (pt.referenceIndex !== undefined && pt.measures.length > 0) {
    const r = pt.referenceIndex;
    if (!Number.isInteger(r) || r < 0 || r >= pt.measures.length) {
      p.add(`${where}: referenceIndex ${describe(r)} is not the index of one of its ${pt.measures.length} measures`);
    }
  }
  const seen = new Map<string, number>();
  pt.measures.forEach((m, j) => {
    checkMeasure(p, where, m, j);
    if (typeof m?.serialNumber === "string" && m.serialNumber) {
      const first = seen.get(m.serialNumber);
      if (first !== undefined) {
        p.add(`${where}: measures ${first} and ${j} both have serial number '${m.serialNumber}'; ISIS allows one measure per image in a point`);
      } else seen.set(m.serialNumber, j);
    }
  });
}

/** The problems that keep `net` from being written, each naming the point/measure and what to fix. */
export function validateControlNetwork(net: ControlNetwork): string[] {
  const p = new Problems();
  if (typeof net !== "object" || net === null) return ["the network must be an object {networkId, targetName, points}"];
  p.str("network", "networkId", net.networkId, true);
  p.str("network", "targetName", net.targetName, true);
  for (const f of ["userName", "created", "lastModified", "description"] as const) p.str("network", f, net[f], false);
  if (!Array.isArray(net.points)) {
    p.add("network: points must be an array");
    return p.list;
  }
  const ids = new Map<string, number>();
  net.points.forEach((pt, i) => {
    checkPoint(p, pt, i);
    if (typeof pt?.id === "string" && pt.id) {
      const first = ids.get(pt.id);
      if (first !== undefined) p.add(`point '${pt.id}': id used by points ${first} and ${i}; point ids must be unique — rename one`);
      else ids.set(pt.id, i);
    }
  });
  return p.list;
}

/** One message for a list of problems: the first few, and how many more. */
export function summarizeProblems(problems: string[]): string {
  const shown = problems.slice(0, MAX_PROBLEMS_LISTED).map((s) => `  - ${s}`).join("\n");
  const more = problems.length > MAX_PROBLEMS_LISTED ? `\n  … and ${problems.length - MAX_PROBLEMS_LISTED} more` : "";
  return `${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${shown}${more}`;
}
