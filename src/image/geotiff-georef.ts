/**
 * A GeoTIFF's georeference as an {@link AffineGeoreference} (pixel centre → planetocentric lon/lat degrees).
 *
 * Raster → model space: ModelTransformation (X = m0·I + m1·J + m3, Y = m4·I + m5·J + m7), or one ModelTiepoint with
 * ModelPixelScale (X = x + (I − i)·sx, Y = y − (J − j)·sy). GeoTIFF raster space (I, J) puts the centre of our pixel
 * (x, y) at (x + 0.5, y + 0.5) when GTRasterTypeGeoKey is PixelIsArea (the default) — the model point is the pixel's
 * corner — and at (x, y) when it is PixelIsPoint — the model point is the pixel's centre. (GDAL shifts PixelIsPoint
 * files by half a pixel to give its corner-based geotransform; we get the same map.)
 *
 * Model → lon/lat: a geographic model (GTModelTypeGeoKey 2) is lon/lat already (degrees, or radians converted).
 * A projected model is supported for the user-defined Equirectangular transform (ProjCoordTransGeoKey 17, what GDAL
 * writes for PROJ `eqc`, the usual planetary map projection): lon = lon0 + (X − FE)/(R·cos lat_ts),
 * lat = lat0 + (Y − FN)/R — still affine. Other projections leave the image without a georeference and say why.
 *
 * The radius: GeogSemiMajorAxisGeoKey; else 6378137 m for the Earth datums GDAL may leave implicit (WGS 84, NAD83,
 * ETRS89 by EPSG code); else the caller's `radius`; else DEFAULT_RADIUS_M. (On an ellipsoid, latitudes are the
 * CRS's, i.e. geodetic.)
 */
import { AffineGeoreference } from "./georeference";
import type { GeoTiffLabel } from "./geotiff-label";
import { DEFAULT_RADIUS_M } from "./image";

const EARTH_A = 6_378_137;
/** EPSG geographic CRS, datum and ellipsoid codes whose semi-major axis is 6378137 m. */
const EARTH_CODES = new Set([4326, 4269, 4258, 6326, 6269, 6258, 7030, 7019]);
const USER_DEFINED = 32767;
const CT_EQUIRECTANGULAR = 17;
const RAD = 180 / Math.PI;

export interface GeoTiffGeoreferenceResult {
  georeference?: AffineGeoreference;
  /** why there is none although the file has georeferencing tags */
  problem?: string;
}

/** The body's radius in metres as the file states it, or undefined. */
export function geoTiffRadius(keys: Record<string, unknown> | null): number | undefined {
  if (!keys) return undefined;
  const a = keys.GeogSemiMajorAxisGeoKey;
  if (typeof a === "number" && a > 0) return a;
  for (const k of ["GeographicTypeGeoKey", "GeogGeodeticDatumGeoKey", "GeogEllipsoidGeoKey"]) {
    if (EARTH_CODES.has(keys[k] as number)) return EARTH_A;
  }
  return undefined;
}

export function geoTiffGeoreference(label: GeoTiffLabel, options: { radius?: number } = {}): GeoTiffGeoreferenceResult {
  const { modelTransformation: mt, modelTiepoint: tp, modelPixelScale: ps, geoKeys: keys } = label;
  let raster: [number, number, number, number, number, number]; // X = r0·I + r1·J + r2, Y = r3·I + r4·J + r5
  if (mt && mt.length >= 16) {
    raster = [mt[0]!, mt[1]!, mt[3]!, mt[4]!, mt[5]!, mt[7]!];
  } else if (tp && tp.length >= 6 && ps && ps.length >= 2) {
    if (tp.length > 6) return { problem: `${tp.length / 6} tiepoints with a pixel scale: only one tiepoint is supported` };
    const [i, j, , x, y] = tp as [number, number, number, number, number];
    const [sx, sy] = ps as [number, number];
    raster = [sx, 0, x - i * sx, 0, -sy, y + j * sy];
  } else if (tp && tp.length >= 6) {
    return { problem: `${Math.floor(tp.length / 6)} ground control points (tiepoints without a pixel scale): only affine georeferencing is supported` };
  } else {
    return {};
  }
  // Our pixel centre (x, y) is raster position (x + s, y + s).
  const s = label.rasterType === "PixelIsPoint" ? 0 : 0.5;
  const [r0, r1, r2, r3, r4, r5] = raster;
  const model = [r0, r1, r2 + s * (r0 + r1), r3, r4, r5 + s * (r3 + r4)] as const;

  if (!keys) return { problem: "model tiepoint/transformation without a GeoKeyDirectory: the coordinate system is unknown" };
  const radius = geoTiffRadius(keys) ?? options.radius ?? DEFAULT_RADIUS_M;
  const modelType = keys.GTModelTypeGeoKey;
  if (modelType === 2) {
    const units = keys.GeogAngularUnitsGeoKey;
    const k = units === undefined || units === 9102 ? 1 : units === 9101 ? RAD : undefined;
    if (k === undefined) return { problem: `geographic coordinates in angular unit ${String(units)}: only degrees (9102) and radians (9101) are supported` };
    return affine(model.map((v) => v * k) as unknown as number[], radius);
  }
  if (modelType === 1) {
    const pcs = keys.ProjectedCSTypeGeoKey;
    const transform = keys.ProjCoordTransGeoKey;
    if ((pcs !== undefined && pcs !== USER_DEFINED) || transform !== CT_EQUIRECTANGULAR) {
      return {
        problem:
          `projected coordinates (${pcs !== undefined && pcs !== USER_DEFINED ? `EPSG:${String(pcs)}` : `coordinate transformation ${String(transform)}`}): ` +
          "only geographic and equirectangular (eqc) GeoTIFFs are supported",
      };
    }
    const units = keys.ProjLinearUnitsGeoKey;
    if (units !== undefined && units !== 9001) return { problem: `projected coordinates in linear unit ${String(units)}: only metres (9001) are supported` };
    const num = (...names: string[]): number => {
      for (const n of names) if (typeof keys[n] === "number") return keys[n] as number;
      return 0;
    };
    const latTs = num("ProjStdParallel1GeoKey") / RAD;
    const lon0 = num("ProjCenterLongGeoKey", "ProjNatOriginLongGeoKey");
    const lat0 = num("ProjCenterLatGeoKey", "ProjNatOriginLatGeoKey");
    const fe = num("ProjFalseEastingGeoKey", "ProjFalseOriginEastingGeoKey");
    const fn = num("ProjFalseNorthingGeoKey", "ProjFalseOriginNorthingGeoKey");
    const kx = RAD / (radius * Math.cos(latTs));
    const ky = RAD / radius;
    const [a, b, c, d, e, f] = model;
    return affine([kx * a, kx * b, lon0 + kx * (c - fe), ky * d, ky * e, lat0 + ky * (f - fn)], radius);
  }
  return { problem: `GTModelTypeGeoKey ${String(modelType)}: only geographic (2) and projected (1) models are supported` };
}

function affine(c: number[], radius: number): GeoTiffGeoreferenceResult {
  try {
    return { georeference: new AffineGeoreference(c as unknown as readonly [number, number, number, number, number, number], radius) };
  } catch (e) {
    return { problem: (e as Error).message };
  }
}
