/**
 * Ground truth of a synthetic campaign, as plain data: each frame's exact pixel → ground map and the deliberately
 * wrong a-priori map stored in its GeoTIFF. Serialisable as is (truth.json), for tests and for a ground-truth table.
 *
 * Pixel coordinates follow raster.ts (0-based, pixel centres at integers), ground coordinates georeference.ts.
 */
import { AffineGeoreference, type AffineCoefficients, type LonLat, type PixelPoint } from "../image/georeference";
import { applyAffine, composeAffine, invertAffine } from "./frames";
import type { Random } from "./random";

export interface FrameTruth {
  name: string;
  /** file name of the frame's GeoTIFF, relative to the campaign directory */
  file: string;
  width: number;
  height: number;
  /** the exact pixel → ground map the frame was rendered with */
  trueAffine: AffineCoefficients;
  /** the map stored in the GeoTIFF: trueAffine ∘ M with M = the a-priori error below */
  aprioriAffine: AffineCoefficients;
  /** the frame's rotation on the ground (degrees, counter-clockwise from above) and relative pixel size */
  rotation: number;
  scale: number;
  /**
   * The a-priori error as a pixel-space map M(p) = c + R(rotation)(p − c) + shift, c the image centre: ground that
   * the a-priori map puts at pixel p is truly at pixel M(p). So the error is `shift` at the centre, plus the rotation
   * (degrees, in pixel coordinates: x towards y) about the centre.
   */
  aprioriError: { shift: PixelPoint; rotation: number };
  /** SHA-256 of the GeoTIFF, hex: lets a cache check the file is the one this truth describes */
  sha256: string;
}

export interface CampaignTruth {
  format: "autocnet-ts synthetic campaign";
  /** generator version: files from another version are never reused */
  version: number;
  /** hash of the resolved options (and the version): names the default cache directory */
  optionsHash: string;
  /** the resolved options the campaign was made with */
  options: Record<string, unknown>;
  seed: number | string;
  /** sphere radius, metres */
  radius: number;
  targetName: string;
  /** tangent point of the ground's local metre frame (middle of the layout) */
  center: LonLat;
  /** nominal pixel size, metres */
  pixelSize: number;
  frames: FrameTruth[];
}

/** Where pixel p of the frame truly is on the ground. */
export function trueGround(frame: Pick<FrameTruth, "trueAffine">, p: PixelPoint): LonLat {
  return applyAffine(frame.trueAffine, p.x, p.y);
}

/** Where the ground feature at pixel pA of frame A truly is in frame B: T_B⁻¹(T_A(pA)). May lie outside frame B. */
export function truePixel(frameA: Pick<FrameTruth, "trueAffine">, pA: PixelPoint, frameB: Pick<FrameTruth, "trueAffine">): PixelPoint {
  const g = applyAffine(frameA.trueAffine, pA.x, pA.y);
  const q = applyAffine(invertAffine(frameB.trueAffine), g.lon, g.lat);
  return { x: q.lon, y: q.lat };
}

/** Where the a-priori georeference (the GeoTIFF's) puts pixel p of the frame on the ground. */
export function aprioriGround(frame: Pick<FrameTruth, "aprioriAffine">, p: PixelPoint): LonLat {
  return applyAffine(frame.aprioriAffine, p.x, p.y);
}

export function trueGeoreference(frame: Pick<FrameTruth, "trueAffine">, radius: number): AffineGeoreference {
  return new AffineGeoreference(frame.trueAffine, radius);
}

export function aprioriGeoreference(frame: Pick<FrameTruth, "aprioriAffine">, radius: number): AffineGeoreference {
  return new AffineGeoreference(frame.aprioriAffine, radius);
}

export interface AprioriErrorOptions {
  /** translation error at the image centre, pixels (its direction is drawn) */
  pixels: number;
  /** rotation error about the image centre, degrees (its sign is drawn) */
  degrees: number;
}

/**
 * The "a-priori camera": the true map composed with a pixel-space error of exactly `pixels` of translation (random
 * direction) and exactly `degrees` of rotation (random sign) about the image centre — the kind of error a real
 * pointing estimate has, large enough that matching must find it.
 */
export function aprioriFromTruth(
  trueAffine: AffineCoefficients,
  width: number,
  height: number,
  error: AprioriErrorOptions,
  random: Random,
): { aprioriAffine: AffineCoefficients; aprioriError: { shift: PixelPoint; rotation: number } } {
  const direction = 2 * Math.PI * random();
  const rotation = (random() < 0.5 ? -1 : 1) * error.degrees;
  const shift = { x: error.pixels * Math.cos(direction), y: error.pixels * Math.sin(direction) };
  const t = (rotation * Math.PI) / 180;
  const cos = Math.cos(t), sin = Math.sin(t);
  const cx = (width - 1) / 2, cy = (height - 1) / 2;
  const m: AffineCoefficients = [cos, -sin, cx - cos * cx + sin * cy + shift.x, sin, cos, cy - sin * cx - cos * cy + shift.y];
  return { aprioriAffine: composeAffine(trueAffine, m), aprioriError: { shift, rotation } };
}
