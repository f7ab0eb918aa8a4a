/**
 * Rendering a frame: what an ideal camera with the given pixel → ground map records from a ground brightness function.
 *
 * Each pixel integrates the ground over its own area (a box filter), approximated by the mean of k × k samples on a
 * regular sub-pixel grid; seeded Gaussian sensor noise is added on top. Pixel convention of raster.ts: pixel (x, y)
 * covers [x − 0.5, x + 0.5] × [y − 0.5, y + 0.5], so its samples sit at x − 0.5 + (i + 0.5)/k, symmetric about the
 * centre. That symmetry is what puts a feature's intensity centroid exactly at T⁻¹(ground), with no half-pixel bias.
 */
import type { AffineCoefficients } from "../image/georeference";
import { createRaster, type Raster } from "../image/raster";
import type { GroundFunction } from "./ground";
import { gaussian, stream, type Seed } from "./random";

export interface RenderOptions {
  /** k for k × k samples per pixel (default 3) */
  supersample?: number;
  /** standard deviation of the sensor noise in DN (default 2; 0 for none) */
  noise?: number;
  /** seed of the sensor noise (default 0); give each frame its own */
  seed?: Seed;
}

/** Renders a width × height frame of `ground` seen through the pixel → ground map `affine`. */
export function renderFrame(ground: GroundFunction, affine: AffineCoefficients, width: number, height: number, options: RenderOptions = {}): Raster {
  const k = options.supersample ?? 3;
  const sigma = options.noise ?? 2;
  if (!Number.isInteger(k) || k < 1) throw new Error(`supersample must be a positive integer, got ${k}`);
  if (!(sigma >= 0)) throw new Error(`noise must be ≥ 0, got ${sigma}`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new Error(`frame size must be positive integers, got ${width} x ${height}`);
  const raster = createRaster(width, height);
  const out = raster.data;
  const [a, b, c, d, e, f] = affine;
  const offsets = new Float64Array(k);
  for (let i = 0; i < k; i++) offsets[i] = -0.5 + (i + 0.5) / k;
  const inv = 1 / (k * k);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let j = 0; j < k; j++) {
        const sy = y + offsets[j]!;
        // The row's ground position, then one step per sample: each sample computed directly from (sx, sy), so the
        // result does not depend on traversal order or accumulate rounding.
        const lonRow = b * sy + c, latRow = e * sy + f;
        for (let i = 0; i < k; i++) {
          const sx = x + offsets[i]!;
          sum += ground(a * sx + lonRow, d * sx + latRow);
        }
      }
      out[y * width + x] = sum * inv;
    }
  }
  if (sigma > 0) {
    const normal = gaussian(stream(options.seed ?? 0, "sensor-noise"));
    for (let i = 0; i < out.length; i++) out[i] = out[i]! + sigma * normal();
  }
  return raster;
}
