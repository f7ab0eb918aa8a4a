/**
 * A synthetic planetary surface: brightness as a continuous function of ground position (longitude, latitude).
 *
 * Height field = fBm relief (seeded simplex noise) + impact craters (craters.ts); brightness = albedo × Lambertian
 * shading of that height field under a fixed sun, plus a dark level. Every part is analytic (the gradient included), so
 * the function can be evaluated at any sub-pixel position and a camera model alone decides where a feature lands in
 * an image: that is what makes exact ground truth possible.
 *
 * Ground coordinates are those of georeference.ts (planetocentric lon/lat in degrees, east positive, on a sphere).
 * The surface is laid out in local metres on an equirectangular tangent frame at `center` (x east, y north), so
 * craters are round and the noise is isotropic on the ground; that frame is part of the definition, not an
 * approximation of something else. Lon/lat → metres is affine, so an affine pixel → lon/lat map is affine to metres.
 */
import type { LonLat } from "../image/georeference";
import { CraterField, randomCraters, type Crater, type CraterPopulationOptions } from "./craters";
import { Fbm, SimplexNoise2 } from "./noise";
import { stream, type Seed } from "./random";

/** Any ground: brightness (DN) at a ground position. The renderer takes any such function. */
export type GroundFunction = (lon: number, lat: number) => number;

/** Local metres on the tangent frame at `center`: x = east, y = north. */
export class TangentFrame {
  /** metres per degree of longitude (at the centre latitude) */
  readonly metresPerDegLon: number;
  /** metres per degree of latitude */
  readonly metresPerDegLat: number;

  constructor(readonly center: LonLat, readonly radius: number) {
    this.metresPerDegLat = (radius * Math.PI) / 180;
    this.metresPerDegLon = this.metresPerDegLat * Math.cos((center.lat * Math.PI) / 180);
  }

  toLocal(lon: number, lat: number): { x: number; y: number } {
    return { x: (lon - this.center.lon) * this.metresPerDegLon, y: (lat - this.center.lat) * this.metresPerDegLat };
  }

  toLonLat(x: number, y: number): LonLat {
    return { lon: this.center.lon + x / this.metresPerDegLon, lat: this.center.lat + y / this.metresPerDegLat };
  }
}

export interface GroundOptions {
  seed: Seed;
  /** tangent point of the local metre frame; put it at the middle of the campaign */
  center: LonLat;
  /** sphere radius, metres */
  radius: number;
  /** fBm relief, metres. Defaults: 6 octaves from 6.4 km down, 80 m amplitude (rms slope about 0.11, i.e. ~6°). */
  relief?: { wavelength?: number; amplitude?: number; octaves?: number; minWavelength?: number };
  /** fBm albedo variation: brightness factor 1 + noise of standard deviation `contrast`. Defaults: 4 octaves from 12.8 km down, contrast 0.08. */
  albedo?: { wavelength?: number; contrast?: number; octaves?: number; minWavelength?: number };
  /** craters: a population to draw (metres), explicit craters, or none */
  craters?: CraterPopulationOptions | readonly Crater[] | false;
  /** degrees; azimuth clockwise from north. Default azimuth 315° (from the north-west), elevation 30°. */
  sun?: { azimuth?: number; elevation?: number };
}

export interface SyntheticGround {
  /** brightness in DN (about 16 in full shade, ~126 on flat ground, up to ~260 on sunlit slopes) */
  readonly brightness: GroundFunction;
  /** height in metres at (lon, lat); with `grad`, the gradient (metres per metre, east and north) goes to grad[0..1] */
  height(lon: number, lat: number, grad?: Float64Array): number;
  readonly frame: TangentFrame;
  readonly craters: readonly Crater[];
}

/** DN of a surface in full shade: scattered light and sensor offset, so shadows are not clipped at 0. */
const DARK_LEVEL = 16;
/** DN per unit albedo × cos(incidence). */
const GAIN = 220;

export function syntheticGround(options: GroundOptions): SyntheticGround {
  const { seed } = options;
  const frame = new TangentFrame(options.center, options.radius);
  const relief = new Fbm(
    new SimplexNoise2(stream(seed, "relief-permutation")),
    {
      octaves: options.relief?.octaves ?? 6,
      wavelength: options.relief?.wavelength ?? 6400,
      amplitude: options.relief?.amplitude ?? 80,
      ...(options.relief?.minWavelength !== undefined ? { minWavelength: options.relief.minWavelength } : {}),
    },
    stream(seed, "relief-offsets"),
  );
  const albedoContrast = options.albedo?.contrast ?? 0.08;
  const albedo = new Fbm(
    new SimplexNoise2(stream(seed, "albedo-permutation")),
    {
      octaves: options.albedo?.octaves ?? 4,
      wavelength: options.albedo?.wavelength ?? 12800,
      amplitude: 1,
      ...(options.albedo?.minWavelength !== undefined ? { minWavelength: options.albedo.minWavelength } : {}),
    },
    stream(seed, "albedo-offsets"),
  );
  // Simplex fBm of 4 octaves at gain 0.5 has a standard deviation of about 0.62: scale so `contrast` is the std.
  const albedoScale = albedoContrast / 0.62;
  const craterList =
    options.craters === false || options.craters === undefined
      ? []
      : Array.isArray(options.craters)
        ? (options.craters as readonly Crater[])
        : randomCraters(options.craters as CraterPopulationOptions, stream(seed, "craters"));
  const craters = new CraterField(craterList);

  const az = ((options.sun?.azimuth ?? 315) * Math.PI) / 180;
  const el = ((options.sun?.elevation ?? 30) * Math.PI) / 180;
  // Unit vector towards the sun in (east, north, up).
  const sx = Math.cos(el) * Math.sin(az), sy = Math.cos(el) * Math.cos(az), sz = Math.sin(el);

  const kx = frame.metresPerDegLon, ky = frame.metresPerDegLat;
  const lon0 = frame.center.lon, lat0 = frame.center.lat;
  const g1 = new Float64Array(2), g2 = new Float64Array(2);

  const height = (lon: number, lat: number, grad?: Float64Array): number => {
    const x = (lon - lon0) * kx, y = (lat - lat0) * ky;
    const h = relief.sample(x, y, g1) + craters.sample(x, y, g2);
    if (grad) {
      grad[0] = g1[0]! + g2[0]!;
      grad[1] = g1[1]! + g2[1]!;
    }
    return h;
  };

  const brightness: GroundFunction = (lon, lat) => {
    const x = (lon - lon0) * kx, y = (lat - lat0) * ky;
    relief.sample(x, y, g1);
    craters.sample(x, y, g2);
    const hx = g1[0]! + g2[0]!, hy = g1[1]! + g2[1]!;
    // Lambert: cos(incidence) = n · s with the surface normal n ∝ (−∂h/∂x, −∂h/∂y, 1).
    const cosi = (sz - hx * sx - hy * sy) / Math.sqrt(1 + hx * hx + hy * hy);
    const a = 1 + albedoScale * albedo.sample(x, y);
    return DARK_LEVEL + GAIN * a * (cosi > 0 ? cosi : 0);
  };

  return { brightness, height, frame, craters: craterList };
}
