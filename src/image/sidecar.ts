/**
 * A georeference stored beside an image that has none of its own (an ISIS camera cube, a plain TIFF): the file
 * `<image>.georef.json`, e.g. `AS15-M-0297_crop.cub.georef.json`:
 *
 *     { "affine": [a, b, c, d, e, f], "radius": 1737400 }
 *
 * meaning lon = a·x + b·y + c, lat = d·x + e·y + f (degrees, planetocentric, east-positive) for our pixel centres
 * (x, y) — 0-based, the first pixel's centre at (0, 0), as in raster.ts; not GDAL's corner-based geotransform (use
 * AffineGeoreference.fromGdalGeoTransform(gt, r).coefficients to convert one). `radius` is the body's radius in metres.
 *
 * It is read only when the image has no georeference of its own: a file's own Mapping group or GeoTIFF tags win.
 */
import { promises as fsp } from "fs";
import { AffineGeoreference, type AffineCoefficients } from "./georeference";
import { ImageError } from "./errors";

export const SIDECAR_SUFFIX = ".georef.json";

export function sidecarPath(imagePath: string): string {
  return imagePath + SIDECAR_SUFFIX;
}

/** The sidecar's georeference, undefined when there is no sidecar; ImageError naming the file for a bad one. */
export async function readSidecarGeoreference(imagePath: string): Promise<AffineGeoreference | undefined> {
  const file = sidecarPath(imagePath);
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ImageError(`cannot read the georeference sidecar: ${(e as Error).message}`, file);
  }
  return parseSidecar(text, file);
}

export function parseSidecar(text: string, file: string): AffineGeoreference {
  const expected = 'expected {"affine": [a, b, c, d, e, f], "radius": metres} (lon = a·x + b·y + c, lat = d·x + e·y + f)';
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ImageError(`not JSON (${(e as Error).message}); ${expected}`, file);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new ImageError(`not a JSON object; ${expected}`, file);
  const { affine, radius } = doc as { affine?: unknown; radius?: unknown };
  if (!Array.isArray(affine) || affine.length !== 6 || !affine.every((v) => typeof v === "number" && Number.isFinite(v))) {
    throw new ImageError(`"affine" must be 6 finite numbers, found ${JSON.stringify(affine)}; ${expected}`, file);
  }
  if (typeof radius !== "number" || !Number.isFinite(radius) || radius <= 0) {
    throw new ImageError(`"radius" must be a positive number of metres, found ${JSON.stringify(radius)}; ${expected}`, file);
  }
  const unknown = Object.keys(doc).filter((k) => k !== "affine" && k !== "radius");
  if (unknown.length > 0) throw new ImageError(`unknown key${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}; ${expected}`, file);
  try {
    return new AffineGeoreference(affine as unknown as AffineCoefficients, radius);
  } catch (e) {
    throw new ImageError((e as Error).message, file);
  }
}
