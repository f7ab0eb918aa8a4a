/**
 * Map-projected ISIS cubes: the `IsisCube > Mapping` group of Equirectangular and SimpleCylindrical cubes as a
 * {@link Georeference} of kind "isis-mapping".
 *
 * The formulas are ISIS's (Equirectangular.cpp, SimpleCylindrical.cpp, TProjection.cpp), angles in radians:
 * - Equirectangular: x = R·cos(clat)·(lon − clon), y = R·lat, with R the local radius at CenterLatitude
 *   (a·c / √((c·cos clat)² + (a·sin clat)²); the equatorial radius on a sphere). CenterLatitude only sets the
 *   scale: y is not measured from it.
 * - SimpleCylindrical: x = a·(lon − clon), y = a·lat, a = EquatorialRadius.
 * - Projection metres ↔ pixels: ISIS sample s (1-based) has x = UpperLeftCornerX + (s − 0.5)·PixelResolution and
 *   y = UpperLeftCornerY − (l − 0.5)·PixelResolution: the upper-left corner is the outer corner of the first pixel,
 *   whose centre is half a pixel in. Our pixel (x, y) is sample x + 1, line y + 1.
 * - LongitudeDirection PositiveWest negates longitudes; we return east-positive longitudes, not wrapped into a
 *   domain (so a footprint across the 0/360 or ±180 seam stays continuous). LatitudeType Planetographic latitudes are
 *   converted to planetocentric ones (tan φc = (c/a)²·tan φg), as Georeference promises.
 */
import { pvlBlock, pvlFind, pvlScalar, pvlUnit } from "../pvl/access";
import type { PvlObject } from "../pvl/types";
import { ImageError } from "./errors";
import type { Georeference, LonLat, PixelPoint } from "./georeference";

export type IsisProjectionName = "Equirectangular" | "SimpleCylindrical";

export interface IsisMappingParameters {
  projection: IsisProjectionName;
  /** metres: the outer upper-left corner of the first pixel */
  upperLeftCornerX: number;
  upperLeftCornerY: number;
  /** metres per pixel */
  pixelResolution: number;
  /** metres */
  equatorialRadius: number;
  polarRadius: number;
  /** degrees, in the label's longitude direction */
  centerLongitude: number;
  /** degrees (Equirectangular's latitude of true scale; unused by SimpleCylindrical) */
  centerLatitude: number;
  longitudeDirection: "PositiveEast" | "PositiveWest";
  latitudeType: "Planetocentric" | "Planetographic";
}

const DEG = Math.PI / 180;

export class IsisMappingGeoreference implements Georeference {
  readonly kind = "isis-mapping";
  /** the equatorial radius, metres */
  readonly radius: number;
  /** radius used by the projection's x and y (local radius at CenterLatitude, or equatorial) */
  private readonly projectionRadius: number;
  private readonly cosClat: number;
  /** east-positive centre longitude, radians */
  private readonly clon: number;

  constructor(readonly parameters: IsisMappingParameters) {
    const p = parameters;
    this.radius = p.equatorialRadius;
    if (p.projection === "Equirectangular") {
      const a = p.equatorialRadius;
      const c = p.polarRadius;
      const clat = p.centerLatitude * DEG;
      this.projectionRadius = (a * c) / Math.sqrt((c * Math.cos(clat)) ** 2 + (a * Math.sin(clat)) ** 2);
      this.cosClat = Math.cos(clat);
      if (Math.abs(this.cosClat) < 1e-12) throw new Error(`CenterLatitude ${p.centerLatitude} is too close to a pole for Equirectangular`);
    } else {
      this.projectionRadius = p.equatorialRadius;
      this.cosClat = 1;
    }
    this.clon = (p.longitudeDirection === "PositiveWest" ? -p.centerLongitude : p.centerLongitude) * DEG;
  }

  /** Projection metres of our pixel centre (x, y). */
  pixelToProjection(x: number, y: number): { x: number; y: number } {
    const p = this.parameters;
    return { x: p.upperLeftCornerX + (x + 0.5) * p.pixelResolution, y: p.upperLeftCornerY - (y + 0.5) * p.pixelResolution };
  }

  projectionToPixel(px: number, py: number): PixelPoint {
    const p = this.parameters;
    return { x: (px - p.upperLeftCornerX) / p.pixelResolution - 0.5, y: (p.upperLeftCornerY - py) / p.pixelResolution - 0.5 };
  }

  pixelToGround(x: number, y: number): LonLat {
    const m = this.pixelToProjection(x, y);
    const lon = this.clon + m.x / (this.projectionRadius * this.cosClat);
    let lat = m.y / this.projectionRadius;
    if (this.parameters.latitudeType === "Planetographic") lat = this.toCentric(lat);
    return { lon: lon / DEG, lat: lat / DEG };
  }

  groundToPixel(lon: number, lat: number): PixelPoint {
    let phi = lat * DEG;
    if (this.parameters.latitudeType === "Planetographic") phi = this.toGraphic(phi);
    const px = this.projectionRadius * this.cosClat * (lon * DEG - this.clon);
    const py = this.projectionRadius * phi;
    return this.projectionToPixel(px, py);
  }

  private toCentric(graphic: number): number {
    const { equatorialRadius: a, polarRadius: c } = this.parameters;
    return Math.abs(graphic) >= Math.PI / 2 ? graphic : Math.atan(Math.tan(graphic) * (c / a) ** 2);
  }

  private toGraphic(centric: number): number {
    const { equatorialRadius: a, polarRadius: c } = this.parameters;
    return Math.abs(centric) >= Math.PI / 2 ? centric : Math.atan(Math.tan(centric) * (a / c) ** 2);
  }
}

/**
 * The georeference of a cube's Mapping group: undefined without one; `problem` for a projection we do not support;
 * an ImageError naming the keyword for an Equirectangular/SimpleCylindrical group that is incomplete or invalid.
 */
export function isisMappingGeoreference(
  label: PvlObject,
  path: string,
): { georeference?: IsisMappingGeoreference; problem?: string } {
  let mapping: PvlObject | undefined;
  try {
    mapping = pvlBlock(label, "IsisCube", "Mapping");
  } catch (e) {
    throw new ImageError(`IsisCube > Mapping: ${(e as Error).message}`, path);
  }
  if (!mapping) return {};
  const m = mapping;
  const where = "IsisCube > Mapping";
  const text = (name: string, fallback?: string): string => {
    const v = pvlScalar(pvlFind(m, name));
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== "string") throw new ImageError(`${where} > ${name} must be a word, found ${JSON.stringify(v)}`, path);
    return v;
  };
  const num = (name: string, kind: "metres" | "degrees" | "metres/pixel", fallback?: number): number => {
    const e = pvlFind(m, name);
    if (e === undefined && fallback !== undefined) return fallback;
    const v = pvlScalar(e);
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new ImageError(`${where} > ${name} must be a number (${kind}), found ${JSON.stringify(v ?? e)}`, path);
    }
    const unit = pvlUnit(e)?.toLowerCase();
    if (unit === undefined) return v;
    const ok: Record<typeof kind, Record<string, number>> = {
      metres: { meters: 1, meter: 1, m: 1, km: 1000, kilometers: 1000 },
      degrees: { degrees: 1, degree: 1, deg: 1 },
      "metres/pixel": { "meters/pixel": 1, "meters/pix": 1, "m/pixel": 1, "km/pixel": 1000, "kilometers/pixel": 1000 },
    };
    const factor = ok[kind][unit];
    if (factor === undefined) throw new ImageError(`${where} > ${name} has unit <${pvlUnit(e)}>, expected ${kind}`, path);
    return v * factor;
  };

  const name = text("ProjectionName");
  const projection = (["Equirectangular", "SimpleCylindrical"] as const).find((p) => p.toLowerCase() === name.toLowerCase());
  if (!projection) {
    return { problem: `IsisCube > Mapping > ProjectionName = ${name}: only Equirectangular and SimpleCylindrical are supported` };
  }
  const rotation = num("Rotation", "degrees", 0);
  if (rotation !== 0) return { problem: `IsisCube > Mapping > Rotation = ${rotation}: rotated projections are not supported` };

  const direction = text("LongitudeDirection", "PositiveEast");
  const longitudeDirection = (["PositiveEast", "PositiveWest"] as const).find((d) => d.toLowerCase() === direction.toLowerCase());
  if (!longitudeDirection) throw new ImageError(`${where} > LongitudeDirection must be PositiveEast or PositiveWest, found ${direction}`, path);
  const latType = text("LatitudeType", "Planetocentric");
  const latitudeType = (["Planetocentric", "Planetographic"] as const).find((d) => d.toLowerCase() === latType.toLowerCase());
  if (!latitudeType) throw new ImageError(`${where} > LatitudeType must be Planetocentric or Planetographic, found ${latType}`, path);

  const equatorialRadius = num("EquatorialRadius", "metres");
  const polarRadius = num("PolarRadius", "metres", equatorialRadius);
  const pixelResolution = num("PixelResolution", "metres/pixel");
  for (const [k, v] of [["EquatorialRadius", equatorialRadius], ["PolarRadius", polarRadius], ["PixelResolution", pixelResolution]] as const) {
    if (!(v > 0)) throw new ImageError(`${where} > ${k} must be positive, found ${v}`, path);
  }
  const params: IsisMappingParameters = {
    projection,
    upperLeftCornerX: num("UpperLeftCornerX", "metres"),
    upperLeftCornerY: num("UpperLeftCornerY", "metres"),
    pixelResolution,
    equatorialRadius,
    polarRadius,
    centerLongitude: num("CenterLongitude", "degrees"),
    centerLatitude: projection === "Equirectangular" ? num("CenterLatitude", "degrees") : num("CenterLatitude", "degrees", 0),
    longitudeDirection,
    latitudeType,
  };
  try {
    return { georeference: new IsisMappingGeoreference(params) };
  } catch (e) {
    throw new ImageError(`${where}: ${(e as Error).message}`, path);
  }
}
