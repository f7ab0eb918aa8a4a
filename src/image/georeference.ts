/**
 * Where a pixel is on the ground.
 *
 * Pixel coordinates follow raster.ts (0-based, pixel centres at integers). Ground coordinates are planetocentric
 * longitude (degrees, east positive) and latitude (degrees) on a sphere of `radius` metres. Sensor models (SPICE
 * cameras) are out of scope; they would be another implementation of `Georeference`.
 */
export interface LonLat {
  lon: number;
  lat: number;
}

export interface PixelPoint {
  x: number;
  y: number;
}

export interface Georeference {
  /** what produced it, e.g. "affine", "isis-mapping" */
  readonly kind: string;
  /** radius of the target sphere in metres */
  readonly radius: number;
  pixelToGround(x: number, y: number): LonLat;
  groundToPixel(lon: number, lat: number): PixelPoint;
}

/**
 * A pixel → ground affine map in our pixel convention: lon = a·x + b·y + c, lat = d·x + e·y + f,
 * with (x, y) 0-based pixel-centre coordinates.
 */
export type AffineCoefficients = readonly [a: number, b: number, c: number, d: number, e: number, f: number];

/** GDAL's geotransform order: [originX, pixelWidth, rowRotation, originY, columnRotation, pixelHeight], corner-based. */
export type GdalGeoTransform = readonly [number, number, number, number, number, number];

export class AffineGeoreference implements Georeference {
  readonly kind: string = "affine";
  private readonly inverse: AffineCoefficients;

  constructor(readonly coefficients: AffineCoefficients, readonly radius: number) {
    const [a, b, c, d, e, f] = coefficients;
    const det = a * e - b * d;
    if (!Number.isFinite(det) || det === 0) {
      throw new Error(`affine georeference is singular (determinant ${det}): check the image's geotransform`);
    }
    this.inverse = [e / det, -b / det, (b * f - e * c) / det, -d / det, a / det, (d * c - a * f) / det];
  }

  pixelToGround(x: number, y: number): LonLat {
    const [a, b, c, d, e, f] = this.coefficients;
    return { lon: a * x + b * y + c, lat: d * x + e * y + f };
  }

  groundToPixel(lon: number, lat: number): PixelPoint {
    const [a, b, c, d, e, f] = this.inverse;
    return { x: a * lon + b * lat + c, y: d * lon + e * lat + f };
  }

  /** From GDAL's corner-based geotransform: the centre of our pixel (x, y) is GDAL raster position (x + 0.5, y + 0.5). */
  static fromGdalGeoTransform(gt: GdalGeoTransform, radius: number): AffineGeoreference {
    const [x0, dx, rx, y0, ry, dy] = gt;
    return new AffineGeoreference([dx, rx, x0 + 0.5 * dx + 0.5 * rx, ry, dy, y0 + 0.5 * ry + 0.5 * dy], radius);
  }

  /** GDAL's corner-based geotransform of this map. */
  toGdalGeoTransform(): GdalGeoTransform {
    const [a, b, c, d, e, f] = this.coefficients;
    return [c - 0.5 * a - 0.5 * b, a, b, f - 0.5 * d - 0.5 * e, d, e];
  }
}

/**
 * The footprint of a width × height image as a closed ring of lon/lat vertices, walking the outer pixel edges
 * (the corners at −0.5 and width − 0.5) with `perSide` points per side, so non-affine georeferences bend correctly.
 */
export function footprintRing(geo: Georeference, width: number, height: number, perSide = 8): LonLat[] {
  const x0 = -0.5, y0 = -0.5, x1 = width - 0.5, y1 = height - 0.5;
  const ring: LonLat[] = [];
  const side = (ax: number, ay: number, bx: number, by: number) => {
    for (let i = 0; i < perSide; i++) {
      const t = i / perSide;
      ring.push(geo.pixelToGround(ax + (bx - ax) * t, ay + (by - ay) * t));
    }
  };
  side(x0, y0, x1, y0);
  side(x1, y0, x1, y1);
  side(x1, y1, x0, y1);
  side(x0, y1, x0, y0);
  ring.push(ring[0]!);
  return ring;
}

/** The footprint as WKT (POLYGON, lon lat order), counter-clockwise in lon/lat. */
export function footprintWkt(geo: Georeference, width: number, height: number, perSide = 8): string {
  let ring = footprintRing(geo, width, height, perSide);
  let twiceArea = 0;
  for (let i = 0; i + 1 < ring.length; i++) twiceArea += ring[i]!.lon * ring[i + 1]!.lat - ring[i + 1]!.lon * ring[i]!.lat;
  if (twiceArea < 0) ring = ring.slice().reverse();
  return `POLYGON((${ring.map((p) => `${p.lon} ${p.lat}`).join(", ")}))`;
}

/** A georeference as stored in the database (`images.georef`): its kind and the pixel → lon/lat affine map. */
export interface StoredGeoreference {
  kind: string;
  affine: AffineCoefficients;
  radius: number;
}

/**
 * The affine pixel → lon/lat map of a georeference, from three pixels. Exact for every georeference this
 * library reads (GeoTIFF affine maps; ISIS equirectangular and simple cylindrical are linear in lon/lat);
 * a sensor model would need its own stored form.
 */
export function affineOf(geo: Georeference): AffineCoefficients {
  const o = geo.pixelToGround(0, 0), x = geo.pixelToGround(1, 0), y = geo.pixelToGround(0, 1);
  return [x.lon - o.lon, y.lon - o.lon, o.lon, x.lat - o.lat, y.lat - o.lat, o.lat];
}

export function storeGeoreference(geo: Georeference): StoredGeoreference {
  return { kind: geo.kind, affine: affineOf(geo), radius: geo.radius };
}

/** Back from `images.georef`; throws naming what is wrong with the stored value. */
export function loadStoredGeoreference(value: string | StoredGeoreference): AffineGeoreference {
  const v = typeof value === "string" ? (JSON.parse(value) as StoredGeoreference) : value;
  if (!Array.isArray(v?.affine) || v.affine.length !== 6 || !v.affine.every(Number.isFinite) || !(v.radius > 0)) {
    throw new Error(`stored georeference is not {kind, affine: [6 numbers], radius > 0}: ${JSON.stringify(value).slice(0, 200)}`);
  }
  return new AffineGeoreference(v.affine, v.radius);
}
