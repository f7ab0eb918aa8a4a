/**
 * Frame layout: where each synthetic image looks, as an exact affine pixel → ground map.
 *
 * Frames sit in a strip (west to east) or a grid (columns west to east, rows north to south) with a set overlap
 * between neighbours; each gets its own small rotation and scale change, as successive images from a real camera do,
 * so matching has to cope with more than a shift. The maps are exact: the rendered images are made from them, so
 * they are the ground truth.
 *
 * Pixel coordinates follow raster.ts (0-based, pixel centres at integers, the image centre at ((w − 1) / 2, (h − 1) / 2),
 * x to the right, y down); ground coordinates follow georeference.ts (lon/lat degrees). Before its rotation a frame
 * is north-up: x points east, y south.
 */
import type { AffineCoefficients, LonLat } from "../image/georeference";
import { TangentFrame } from "./ground";
import { stream, uniform, type Seed } from "./random";

export interface FrameLayoutOptions {
  /** a strip of this many frames, or a grid */
  frames: number | { columns: number; rows: number };
  width: number;
  height: number;
  /** ground point under the middle of the layout */
  center: LonLat;
  /** sphere radius, metres */
  radius: number;
  /** nominal ground size of a pixel, metres */
  pixelSize: number;
  /** overlap between neighbours as a fraction of a frame (default 0.4) */
  overlap?: number;
  /** each frame is rotated by a uniform draw in ±maxRotation degrees (default 3) */
  maxRotation?: number;
  /** each frame's pixel size is scaled by 1 + a uniform draw in ±scaleJitter (default 0.02) */
  scaleJitter?: number;
  seed: Seed;
  /** frame names are `${prefix}_NN` (strip) or `${prefix}_rR_cC` (grid); default "frame" */
  prefix?: string;
}

export interface FramePlacement {
  name: string;
  width: number;
  height: number;
  /** position in the layout: column (strip: index) and row (strip: 0) */
  column: number;
  row: number;
  /** rotation of the frame on the ground, degrees, counter-clockwise seen from above (east towards north) */
  rotation: number;
  /** pixel size relative to the nominal one */
  scale: number;
  /** the exact pixel → ground map */
  affine: AffineCoefficients;
}

/** Lays out the frames. Deterministic in `seed`. */
export function layoutFrames(options: FrameLayoutOptions): FramePlacement[] {
  const { width, height, pixelSize } = options;
  const overlap = options.overlap ?? 0.4;
  const maxRotation = options.maxRotation ?? 3;
  const scaleJitter = options.scaleJitter ?? 0.02;
  const prefix = options.prefix ?? "frame";
  const grid = typeof options.frames === "number" ? { columns: options.frames, rows: 1 } : options.frames;
  const strip = typeof options.frames === "number";
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 2 || height < 2) throw new Error(`frame size must be integers ≥ 2, got ${width} x ${height}`);
  if (!Number.isInteger(grid.columns) || !Number.isInteger(grid.rows) || grid.columns < 1 || grid.rows < 1) {
    throw new Error(`frames must be a positive integer or {columns, rows} of positive integers, got ${JSON.stringify(options.frames)}`);
  }
  if (!(overlap >= 0 && overlap < 1)) throw new Error(`overlap must be in [0, 1), got ${overlap}`);
  if (!(pixelSize > 0)) throw new Error(`pixelSize must be positive, got ${pixelSize}`);

  const tangent = new TangentFrame(options.center, options.radius);
  const random = stream(options.seed, "layout");
  const stepX = (1 - overlap) * width * pixelSize;
  const stepY = (1 - overlap) * height * pixelSize;
  const digits = String(grid.columns * grid.rows - 1).length;
  const frames: FramePlacement[] = [];
  for (let row = 0; row < grid.rows; row++) {
    for (let column = 0; column < grid.columns; column++) {
      const rotation = uniform(random, -maxRotation, maxRotation);
      const scale = 1 + uniform(random, -scaleJitter, scaleJitter);
      // Frame centre in local metres: columns go east, rows go south.
      const ce = (column - (grid.columns - 1) / 2) * stepX;
      const cn = -(row - (grid.rows - 1) / 2) * stepY;
      const name = strip ? `${prefix}_${String(column).padStart(digits, "0")}` : `${prefix}_r${row}_c${column}`;
      frames.push({ name, width, height, column, row, rotation, scale, affine: frameAffine(tangent, width, height, ce, cn, pixelSize * scale, rotation) });
    }
  }
  return frames;
}

/**
 * The pixel → lon/lat affine of a frame centred at local metres (ce, cn), with pixel size `p` metres, rotated by
 * `rotationDeg` (counter-clockwise seen from above). With u = x − cx, v = y − cy (image centre cx, cy):
 * east = ce + p·(cos θ·u + sin θ·v), north = cn + p·(sin θ·u − cos θ·v); then lon/lat through the tangent frame.
 */
export function frameAffine(tangent: TangentFrame, width: number, height: number, ce: number, cn: number, p: number, rotationDeg: number): AffineCoefficients {
  const t = (rotationDeg * Math.PI) / 180;
  const cos = Math.cos(t), sin = Math.sin(t);
  const cx = (width - 1) / 2, cy = (height - 1) / 2;
  const kx = tangent.metresPerDegLon, ky = tangent.metresPerDegLat;
  // east = A x + B y + C, north = D x + E y + F
  const A = p * cos, B = p * sin, C = ce - A * cx - B * cy;
  const D = p * sin, E = -p * cos, F = cn - D * cx - E * cy;
  const { lon: lon0, lat: lat0 } = tangent.center;
  return [A / kx, B / kx, lon0 + C / kx, D / ky, E / ky, lat0 + F / ky];
}

/** Applies a pixel → ground affine. */
export function applyAffine(affine: AffineCoefficients, x: number, y: number): LonLat {
  const [a, b, c, d, e, f] = affine;
  return { lon: a * x + b * y + c, lat: d * x + e * y + f };
}

/** The inverse map, ground → pixel. */
export function invertAffine(affine: AffineCoefficients): AffineCoefficients {
  const [a, b, c, d, e, f] = affine;
  const det = a * e - b * d;
  if (!Number.isFinite(det) || det === 0) throw new Error(`affine map is singular (determinant ${det})`);
  return [e / det, -b / det, (b * f - e * c) / det, -d / det, a / det, (d * c - a * f) / det];
}

/** first ∘ second: the map p ↦ first(second(p)). */
export function composeAffine(first: AffineCoefficients, second: AffineCoefficients): AffineCoefficients {
  const [a, b, c, d, e, f] = first;
  const [p, q, r, s, t, u] = second;
  return [a * p + b * s, a * q + b * t, a * r + b * u + c, d * p + e * s, d * q + e * t, d * r + e * u + f];
}

/** The footprint's corners in lon/lat: the outer pixel edges (−0.5 and size − 0.5), counter-clockwise on the ground. */
export function frameCorners(affine: AffineCoefficients, width: number, height: number): LonLat[] {
  const x0 = -0.5, y0 = -0.5, x1 = width - 0.5, y1 = height - 0.5;
  const corners = [applyAffine(affine, x0, y0), applyAffine(affine, x1, y0), applyAffine(affine, x1, y1), applyAffine(affine, x0, y1)];
  return signedArea(corners) < 0 ? corners.reverse() : corners;
}

/**
 * Overlap of two frames: the area of the intersection of their footprints over the area of the smaller footprint.
 * Computed in lon/lat: the two footprints are images of rectangles under affine maps, and affine maps keep area
 * ratios, so the fraction is the same as in metres on the ground.
 */
export function overlapFraction(a: { affine: AffineCoefficients; width: number; height: number }, b: { affine: AffineCoefficients; width: number; height: number }): number {
  const pa = frameCorners(a.affine, a.width, a.height);
  const pb = frameCorners(b.affine, b.width, b.height);
  const inter = clipConvex(pa, pb);
  const area = inter.length >= 3 ? Math.abs(signedArea(inter)) : 0;
  return area / Math.min(Math.abs(signedArea(pa)), Math.abs(signedArea(pb)));
}

function signedArea(ring: LonLat[]): number {
  let s = 0;
  for (let i = 0; i < ring.length; i++) {
    const p = ring[i]!, q = ring[(i + 1) % ring.length]!;
    s += p.lon * q.lat - q.lon * p.lat;
  }
  return s / 2;
}

/** Sutherland–Hodgman: `subject` clipped by the convex, counter-clockwise `clip`. */
function clipConvex(subject: LonLat[], clip: LonLat[]): LonLat[] {
  let out = subject;
  for (let i = 0; i < clip.length && out.length > 0; i++) {
    const a = clip[i]!, b = clip[(i + 1) % clip.length]!;
    const side = (p: LonLat) => (b.lon - a.lon) * (p.lat - a.lat) - (b.lat - a.lat) * (p.lon - a.lon);
    const input = out;
    out = [];
    for (let j = 0; j < input.length; j++) {
      const p = input[j]!, q = input[(j + 1) % input.length]!;
      const sp = side(p), sq = side(q);
      if (sp >= 0) out.push(p);
      if ((sp >= 0) !== (sq >= 0)) {
        const t = sp / (sp - sq);
        out.push({ lon: p.lon + t * (q.lon - p.lon), lat: p.lat + t * (q.lat - p.lat) });
      }
    }
  }
  return out;
}
