/**
 * A synthetic image campaign: overlapping frames of one synthetic ground, written as GeoTIFFs whose stored
 * georeference is a deliberately wrong "a-priori camera", with the exact truth alongside in truth.json.
 *
 * That is the situation of a real control-network campaign (images whose pointing is known to a few pixels, to be
 * tied together by matching), except that here the answer is known exactly: a feature at pixel pA of frame A is at
 * truePixel(A, pA, B) in frame B. Everything is a function of the options (the seed included), down to the bytes of
 * the files, so a campaign is cached: a directory whose truth.json has the same options hash, with the files it lists
 * intact, is reused without rendering.
 *
 * Defaults: the Moon (sphere of 1737.4 km) near lon 140°, lat −5°, 100 m pixels, a 3° rotation range, ±2 % scale,
 * 40 % overlap, a-priori error of 3 px and 0.5°, 3 × 3 supersampling, 2 DN noise, about 10 craters per 100 × 100 px
 * of ground with radii 3–43 px.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { AffineGeoreference, type LonLat } from "../image/georeference";
import { writeGeoTiff, type GeoTiffDType } from "../image/geotiff-write";
import { CRATER_REACH } from "./craters";
import { frameCorners, layoutFrames, type FramePlacement } from "./frames";
import { syntheticGround, TangentFrame, type SyntheticGround } from "./ground";
import { stream, type Seed } from "./random";
import { renderFrame } from "./render";
import { aprioriFromTruth, type AprioriErrorOptions, type CampaignTruth, type FrameTruth } from "./truth";

/**
 * Bump when anything changes what a campaign's files contain (ground, layout, rendering, file format): cached
 * campaigns of another version are then rendered again instead of being reused.
 */
export const SYNTHETIC_VERSION = 1;

export const MOON_RADIUS = 1_737_400;

export interface CraterOptions {
  /** craters per 100 × 100 pixels of ground (default 10) */
  density?: number;
  /** radius range in pixels (default 3–43) */
  minRadius?: number;
  maxRadius?: number;
  /** cumulative size–frequency slope, N(> r) ∝ r^−exponent (default 2) */
  exponent?: number;
}

export interface SyntheticCampaignOptions {
  /** a strip of this many frames (west to east), or a grid */
  frames: number | { columns: number; rows: number };
  /** frame size in pixels: square, or width × height */
  size: number | { width: number; height: number };
  seed: Seed;
  /** where the files go; default `.autocnet/synthetic/<options hash>` under the working directory (a cache) */
  outDir?: string;
  /** reuse a matching campaign already in outDir (default true); false renders and rewrites it */
  reuse?: boolean;
  /** sphere radius in metres (default the Moon's, 1737400) */
  radius?: number;
  /** body name stored in the GeoTIFFs' CRS (default "Moon") */
  targetName?: string;
  /** middle of the layout (default lon 140, lat −5) */
  center?: LonLat;
  /** nominal pixel size on the ground, metres (default 100) */
  pixelSize?: number;
  /** overlap between neighbouring frames (default 0.4) */
  overlap?: number;
  /** frame rotations are drawn in ±rotation degrees (default 3) */
  rotation?: number;
  /** frame pixel sizes are scaled by 1 ± up to this (default 0.02) */
  scaleJitter?: number;
  /** error of the stored (a-priori) georeference (default 3 px, 0.5°) */
  aprioriError?: AprioriErrorOptions;
  /** k × k samples per pixel (default 3) */
  supersample?: number;
  /** sensor noise σ in DN (default 2; 0 for none) */
  noise?: number;
  /** crater population, or false for none */
  craters?: CraterOptions | false;
  /** sample type of the GeoTIFFs (default float32) */
  dtype?: GeoTiffDType;
  /**
   * Frame names (and file names) are `${prefix}_N` for a strip, `${prefix}_rR_cC` for a grid (default "frame").
   * Give campaigns that share a database different prefixes: image names must be unique there.
   */
  prefix?: string;
  /** called after each frame is written (not when the campaign is reused) */
  onFrame?: (info: { name: string; index: number; total: number; renderMs: number; writeMs: number }) => void;
}

/** One frame of a campaign: its truth, with the absolute path of its GeoTIFF. */
export interface SyntheticFrame extends FrameTruth {
  path: string;
}

export interface SyntheticCampaign {
  /** the campaign directory (absolute) */
  dir: string;
  /** truth.json in it */
  truthPath: string;
  seed: Seed;
  radius: number;
  frames: SyntheticFrame[];
  truth: CampaignTruth;
  /** true when the files were already there and nothing was rendered */
  reused: boolean;
  /** render and write times per frame, milliseconds (empty when reused) */
  timings: { name: string; renderMs: number; writeMs: number }[];
}

/** The options that determine the files: everything except where they go and whether to reuse them. */
export interface ResolvedCampaignOptions {
  version: number;
  frames: number | { columns: number; rows: number };
  width: number;
  height: number;
  seed: Seed;
  radius: number;
  targetName: string;
  center: LonLat;
  pixelSize: number;
  overlap: number;
  rotation: number;
  scaleJitter: number;
  aprioriError: AprioriErrorOptions;
  supersample: number;
  noise: number;
  craters: Required<CraterOptions> | false;
  dtype: GeoTiffDType;
  prefix: string;
}

export function resolveCampaignOptions(options: SyntheticCampaignOptions): ResolvedCampaignOptions {
  const size = typeof options.size === "number" ? { width: options.size, height: options.size } : options.size;
  const frames = typeof options.frames === "number" ? options.frames : { columns: options.frames.columns, rows: options.frames.rows };
  const seed = options.seed;
  if (typeof seed !== "string" && !Number.isFinite(seed)) throw new Error(`seed must be a finite number or a string, got ${String(seed)}`);
  const craters = options.craters === false ? false : {
    density: options.craters?.density ?? 10,
    minRadius: options.craters?.minRadius ?? 3,
    maxRadius: options.craters?.maxRadius ?? 43,
    exponent: options.craters?.exponent ?? 2,
  };
  if (craters && !(craters.density >= 0)) throw new Error(`crater density must be ≥ 0, got ${craters.density}`);
  const resolved: ResolvedCampaignOptions = {
    version: SYNTHETIC_VERSION,
    frames,
    width: size.width,
    height: size.height,
    seed,
    radius: options.radius ?? MOON_RADIUS,
    targetName: options.targetName ?? "Moon",
    center: { lon: options.center?.lon ?? 140, lat: options.center?.lat ?? -5 },
    pixelSize: options.pixelSize ?? 100,
    overlap: options.overlap ?? 0.4,
    rotation: options.rotation ?? 3,
    scaleJitter: options.scaleJitter ?? 0.02,
    aprioriError: { pixels: options.aprioriError?.pixels ?? 3, degrees: options.aprioriError?.degrees ?? 0.5 },
    supersample: options.supersample ?? 3,
    noise: options.noise ?? 2,
    craters,
    dtype: options.dtype ?? "float32",
    prefix: options.prefix ?? "frame",
  };
  // Checked here, before anything is written, rather than by the parts halfway through a campaign.
  const positive = { radius: resolved.radius, pixelSize: resolved.pixelSize, width: resolved.width, height: resolved.height };
  for (const [name, v] of Object.entries(positive)) if (!(v > 0 && Number.isFinite(v))) throw new Error(`${name} must be positive, got ${v}`);
  if (!Number.isInteger(resolved.width) || !Number.isInteger(resolved.height)) throw new Error(`size must be whole pixels, got ${resolved.width} x ${resolved.height}`);
  if (!Number.isInteger(resolved.supersample) || resolved.supersample < 1) throw new Error(`supersample must be a positive integer, got ${resolved.supersample}`);
  const nonNegative = { noise: resolved.noise, rotation: resolved.rotation, scaleJitter: resolved.scaleJitter, "aprioriError.pixels": resolved.aprioriError.pixels, "aprioriError.degrees": resolved.aprioriError.degrees };
  for (const [name, v] of Object.entries(nonNegative)) if (!(v >= 0 && Number.isFinite(v))) throw new Error(`${name} must be ≥ 0, got ${v}`);
  if (!(resolved.overlap >= 0 && resolved.overlap < 1)) throw new Error(`overlap must be in [0, 1), got ${resolved.overlap}`);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(resolved.prefix)) throw new Error(`prefix must be 1–64 of A–Z a–z 0–9 _ -, got ${JSON.stringify(resolved.prefix)}`);
  if (Math.abs(resolved.center.lat) > 80) throw new Error(`center latitude ${resolved.center.lat} is too near a pole for a lon/lat-affine layout`);
  return resolved;
}

/** Hash of the resolved options: what names a cache directory and what truth.json must match to be reused. */
export function campaignOptionsHash(resolved: ResolvedCampaignOptions): string {
  return createHash("sha256").update(canonicalJson(resolved)).digest("hex").slice(0, 16);
}

/** The default campaign directory for these options: `.autocnet/synthetic/<hash>` under the working directory. */
export function defaultCampaignDir(options: SyntheticCampaignOptions): string {
  return path.resolve(".autocnet", "synthetic", campaignOptionsHash(resolveCampaignOptions(options)));
}

/** Lays out, renders and writes a campaign, or reuses a matching one already in its directory. */
export async function syntheticCampaign(options: SyntheticCampaignOptions): Promise<SyntheticCampaign> {
  const resolved = resolveCampaignOptions(options);
  const hash = campaignOptionsHash(resolved);
  const dir = path.resolve(options.outDir ?? path.join(".autocnet", "synthetic", hash));
  const truthPath = path.join(dir, "truth.json");
  const previous = readTruth(truthPath);
  if (options.reuse !== false && previous && (await isIntact(previous, hash, dir))) {
    return result(dir, truthPath, previous, true, []);
  }

  const placements = campaignLayout(resolved);
  const ground = campaignGround(resolved, placements);
  const aprioriRandom = stream(resolved.seed, "apriori");
  await fs.promises.mkdir(dir, { recursive: true });
  const frames: FrameTruth[] = [];
  const timings: SyntheticCampaign["timings"] = [];
  for (const [index, placement] of placements.entries()) {
    const { name, width, height, affine } = placement;
    const t0 = performance.now();
    const raster = renderFrame(ground.brightness, affine, width, height, {
      supersample: resolved.supersample,
      noise: resolved.noise,
      seed: `${String(resolved.seed)}/${name}`,
    });
    const t1 = performance.now();
    const { aprioriAffine, aprioriError } = aprioriFromTruth(affine, width, height, resolved.aprioriError, aprioriRandom);
    const file = `${name}.tif`;
    const georef = new AffineGeoreference(aprioriAffine, resolved.radius);
    await writeGeoTiff(path.join(dir, file), raster, georef, { dtype: resolved.dtype, targetName: resolved.targetName });
    const sha256 = await fileSha256(path.join(dir, file));
    const t2 = performance.now();
    frames.push({ name, file, width, height, trueAffine: affine, aprioriAffine, rotation: placement.rotation, scale: placement.scale, aprioriError, sha256 });
    timings.push({ name, renderMs: t1 - t0, writeMs: t2 - t1 });
    options.onFrame?.({ name, index, total: placements.length, renderMs: t1 - t0, writeMs: t2 - t1 });
  }
  const truth: CampaignTruth = {
    format: "autocnet-ts synthetic campaign",
    version: SYNTHETIC_VERSION,
    optionsHash: hash,
    options: resolved as unknown as Record<string, unknown>,
    seed: resolved.seed,
    radius: resolved.radius,
    targetName: resolved.targetName,
    center: resolved.center,
    pixelSize: resolved.pixelSize,
    frames,
  };
  // truth.json last: until it is there (and matches), the directory is not a reusable campaign.
  await writeTextAtomic(truthPath, JSON.stringify(truth, null, 2) + "\n");
  if (previous) {
    const kept = new Set(frames.map((f) => f.file));
    for (const old of previous.frames) {
      if (!kept.has(old.file) && isPlainFileName(old.file)) await fs.promises.rm(path.join(dir, old.file), { force: true });
    }
  }
  return result(dir, truthPath, truth, false, timings);
}

/** The frame layout of a campaign (true maps, before any a-priori error). */
export function campaignLayout(resolved: ResolvedCampaignOptions): FramePlacement[] {
  return layoutFrames({
    frames: resolved.frames,
    width: resolved.width,
    height: resolved.height,
    center: resolved.center,
    radius: resolved.radius,
    pixelSize: resolved.pixelSize,
    overlap: resolved.overlap,
    maxRotation: resolved.rotation,
    scaleJitter: resolved.scaleJitter,
    seed: resolved.seed,
    prefix: resolved.prefix,
  });
}

/**
 * The campaign's ground. Feature sizes are set in pixels of the nominal pixel size, so a campaign looks the same at
 * any resolution: relief octaves from 64 px down to 2 px (the finest at the pixel Nyquist limit: finer detail would
 * only alias), albedo from 128 px, craters 3–43 px, placed over the layout's footprints plus the reach of the
 * largest crater.
 */
export function campaignGround(resolved: ResolvedCampaignOptions, placements: FramePlacement[] = campaignLayout(resolved)): SyntheticGround {
  const p = resolved.pixelSize;
  const tangent = new TangentFrame(resolved.center, resolved.radius);
  let craters: Parameters<typeof syntheticGround>[0]["craters"] = false;
  if (resolved.craters) {
    const c = resolved.craters;
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (const f of placements) {
      for (const corner of frameCorners(f.affine, f.width, f.height)) {
        const q = tangent.toLocal(corner.lon, corner.lat);
        minX = Math.min(minX, q.x);
        minY = Math.min(minY, q.y);
        maxX = Math.max(maxX, q.x);
        maxY = Math.max(maxY, q.y);
      }
    }
    const margin = CRATER_REACH * c.maxRadius * p;
    const region = { minX: minX - margin, minY: minY - margin, maxX: maxX + margin, maxY: maxY + margin };
    const areaPx = ((region.maxX - region.minX) * (region.maxY - region.minY)) / (p * p);
    craters = {
      region,
      count: Math.round((c.density * areaPx) / 10_000),
      minRadius: c.minRadius * p,
      maxRadius: c.maxRadius * p,
      exponent: c.exponent,
    };
  }
  return syntheticGround({
    seed: resolved.seed,
    center: resolved.center,
    radius: resolved.radius,
    relief: { wavelength: 64 * p, amplitude: 0.8 * p, octaves: 6 },
    albedo: { wavelength: 128 * p, contrast: 0.08, octaves: 4 },
    craters,
    sun: { azimuth: 315, elevation: 30 },
  });
}

/** Reads a campaign's truth.json (as written by syntheticCampaign). */
export function loadCampaignTruth(truthPath: string): CampaignTruth {
  const truth = readTruth(truthPath);
  if (!truth) throw new Error(`${truthPath} is not a synthetic campaign's truth.json`);
  return truth;
}

function readTruth(truthPath: string): CampaignTruth | undefined {
  let text: string;
  try {
    text = fs.readFileSync(truthPath, "utf8");
  } catch {
    return undefined;
  }
  try {
    const truth = JSON.parse(text) as CampaignTruth;
    return truth && truth.format === "autocnet-ts synthetic campaign" && Array.isArray(truth.frames) ? truth : undefined;
  } catch {
    return undefined;
  }
}

async function isIntact(truth: CampaignTruth, hash: string, dir: string): Promise<boolean> {
  if (truth.version !== SYNTHETIC_VERSION || truth.optionsHash !== hash) return false;
  for (const f of truth.frames) {
    if (!isPlainFileName(f.file)) return false;
    try {
      if ((await fileSha256(path.join(dir, f.file))) !== f.sha256) return false;
    } catch {
      return false;
    }
  }
  return true;
}

function result(dir: string, truthPath: string, truth: CampaignTruth, reused: boolean, timings: SyntheticCampaign["timings"]): SyntheticCampaign {
  return {
    dir,
    truthPath,
    seed: truth.seed,
    radius: truth.radius,
    frames: truth.frames.map((f) => ({ ...f, path: path.join(dir, f.file) })),
    truth,
    reused,
    timings,
  };
}

function isPlainFileName(file: string): boolean {
  return typeof file === "string" && file.length > 0 && path.basename(file) === file && file !== "." && file !== "..";
}

async function fileSha256(file: string): Promise<string> {
  return createHash("sha256").update(await fs.promises.readFile(file)).digest("hex");
}

async function writeTextAtomic(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  try {
    await fs.promises.writeFile(tmp, text);
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}

/** JSON with object keys sorted at every level, so the hash does not depend on property order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
