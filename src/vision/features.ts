/**
 * Keypoints and descriptors (ORB, AKAZE, KAZE via OpenCV), and brute-force descriptor matching with Lowe's ratio test.
 *
 * Coordinates: keypoint (x, y) are pixel coordinates of the raster passed in, in the convention of
 * `src/image/raster.ts` (0-based, pixel centres at integers) — OpenCV uses the same one, so no offset is applied.
 *
 * Why the 8-bit conversion is explicit ({@link toUint8}): OpenCV's detectors work on 8-bit images, planetary rasters are
 * float with no-data. We stretch linearly so that the raster's finite minimum maps to 0 and its maximum to 255 (or a
 * caller's `stretch` range, for consistent contrast across images), and set no-data (NaN) to 0. The hard edge that
 * creates at a no-data border would attract keypoints, so the detection mask excludes NaN pixels and everything within
 * `maskMargin` pixels of them.
 *
 * Like AutoCNet's `extract_features`, nothing here keeps state between calls. OpenCV must be loaded first
 * (`await loadOpenCv()`); every WASM object is deleted before returning.
 */
import type { Raster } from "../image/raster";
import { type Deletable, openCvSync, withMats } from "./opencv";

interface Detector extends Deletable {
  detectAndCompute(image: unknown, mask: unknown, keypoints: unknown, descriptors: unknown): void;
}
interface OrbDetector extends Detector {
  setScaleFactor(v: number): void;
  setNLevels(v: number): void;
  setEdgeThreshold(v: number): void;
  setFastThreshold(v: number): void;
  setPatchSize(v: number): void;
}
interface KazeDetector extends Detector {
  setThreshold(v: number): void;
}
interface DetectorConstructors {
  ORB: new (nfeatures?: number) => OrbDetector;
  AKAZE: new () => KazeDetector;
  KAZE: new () => KazeDetector;
}

export type FeatureMethod = "orb" | "akaze" | "kaze";

export interface Keypoint {
  /** Pixel coordinates in the input raster. */
  x: number;
  y: number;
  /** Detector response (strength); larger is stronger. */
  response: number;
  /** Diameter of the meaningful neighbourhood, pixels. */
  size: number;
  /** Orientation in degrees [0, 360), or −1 if not applicable. */
  angle: number;
  /** Pyramid octave (layer) the keypoint was detected in. */
  octave: number;
}

export interface Features {
  keypoints: Keypoint[];
  /** Row-major, one row of `descriptorSize` elements per keypoint: bytes for ORB/AKAZE (binary), floats for KAZE. */
  descriptors: Uint8Array | Float32Array;
  descriptorSize: number;
  /** The distance that suits the descriptors: Hamming for binary, L2 for float. */
  norm: "hamming" | "l2";
}

export interface FeatureOptions {
  method: FeatureMethod;
  /** ORB: the detector's feature budget (default 500). AKAZE/KAZE: keep at most this many, strongest first. */
  nfeatures?: number;
  /** AKAZE/KAZE detector response threshold (OpenCV default 0.001); lower finds more keypoints. */
  threshold?: number;
  /** ORB pyramid and FAST settings (OpenCV defaults otherwise). */
  scaleFactor?: number;
  nlevels?: number;
  edgeThreshold?: number;
  fastThreshold?: number;
  patchSize?: number;
  /** Value range mapped to 0…255; default the raster's finite min and max. */
  stretch?: { min: number; max: number };
  /** Pixels next to no-data excluded from detection; default 16 (ORB's patch radius). */
  maskMargin?: number;
}

/** An 8-bit rendering of a raster for the detectors, with its detection mask (255 = usable). */
export interface Uint8Image {
  width: number;
  height: number;
  data: Uint8Array;
  mask: Uint8Array;
  /** The stretch applied: value `min` → 0, `max` → 255. */
  min: number;
  max: number;
  /** Whether any pixel was no-data. */
  hasNoData: boolean;
}

/** Linear min/max stretch to 8 bits (see the file comment); NaN → 0 with mask 0. */
export function toUint8(raster: Raster, stretch?: { min: number; max: number }): Uint8Image {
  const { width, height, data } = raster;
  let min = Infinity;
  let max = -Infinity;
  let hasNoData = false;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (Number.isNaN(v)) {
      hasNoData = true;
      continue;
    }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (stretch) ({ min, max } = stretch);
  const out = new Uint8Array(width * height);
  const mask = new Uint8Array(width * height);
  const scale = max > min ? 255 / (max - min) : 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (Number.isNaN(v)) continue;
    const q = Math.round((v - min) * scale);
    out[i] = q < 0 ? 0 : q > 255 ? 255 : q;
    mask[i] = 255;
  }
  return { width, height, data: out, mask, min, max, hasNoData };
}

/** Detects keypoints and computes descriptors. See the file comment for the 8-bit conversion and the mask. */
export function extractFeatures(raster: Raster, options: FeatureOptions): Features {
  const cv = openCvSync();
  const img8 = toUint8(raster, options.stretch);
  return withMats((track) => {
    const img = track(new cv.Mat(img8.height, img8.width, cv.CV_8UC1));
    img.data.set(img8.data);
    let mask = track(new cv.Mat());
    if (img8.hasNoData) {
      mask = track(new cv.Mat(img8.height, img8.width, cv.CV_8UC1));
      mask.data.set(img8.mask);
      const margin = options.maskMargin ?? 16;
      if (margin > 0) {
        const kernel = track(cv.getStructuringElement(cv.MORPH_RECT, new cv.Size(2 * margin + 1, 2 * margin + 1)));
        const eroded = track(new cv.Mat());
        // Pixels outside the image count as valid, so only no-data (not the image border) erodes the mask.
        cv.erode(mask, eroded, kernel, new cv.Point(-1, -1), 1, cv.BORDER_CONSTANT, new cv.Scalar(255));
        mask = eroded;
      }
    }
    // The package's typings lack AKAZE/KAZE and ORB's setters, which the WASM build has (checked on 4.12.0).
    const ctors = cv as unknown as DetectorConstructors;
    let detector: Detector;
    switch (options.method) {
      case "orb": {
        const orb = track(new ctors.ORB(options.nfeatures ?? 500));
        if (options.scaleFactor !== undefined) orb.setScaleFactor(options.scaleFactor);
        if (options.nlevels !== undefined) orb.setNLevels(options.nlevels);
        if (options.edgeThreshold !== undefined) orb.setEdgeThreshold(options.edgeThreshold);
        if (options.fastThreshold !== undefined) orb.setFastThreshold(options.fastThreshold);
        if (options.patchSize !== undefined) orb.setPatchSize(options.patchSize);
        detector = orb;
        break;
      }
      case "akaze":
      case "kaze": {
        const kaze = track(options.method === "akaze" ? new ctors.AKAZE() : new ctors.KAZE());
        if (options.threshold !== undefined) kaze.setThreshold(options.threshold);
        detector = kaze;
        break;
      }
      default:
        throw new RangeError(`unknown feature method ${String((options as { method: unknown }).method)}`);
    }
    const kpv = track(new cv.KeyPointVector());
    const desc = track(new cv.Mat());
    detector.detectAndCompute(img, mask, kpv, desc);
    const count = kpv.size();
    const keypoints: Keypoint[] = [];
    for (let i = 0; i < count; i++) {
      const k = kpv.get(i) as { pt: { x: number; y: number }; response: number; size: number; angle: number; octave: number };
      keypoints.push({ x: k.pt.x, y: k.pt.y, response: k.response, size: k.size, angle: k.angle, octave: k.octave });
    }
    // KAZE descriptors are float; ORB and AKAZE (MLDB) are binary. Decided by method: an empty Mat has no type.
    const isFloat = options.method === "kaze";
    const descriptorSize = count > 0 ? desc.cols : options.method === "kaze" ? 64 : options.method === "orb" ? 32 : 61;
    let all: Uint8Array | Float32Array;
    if (count === 0) all = isFloat ? new Float32Array(0) : new Uint8Array(0);
    else all = isFloat ? Float32Array.from(desc.data32F) : Uint8Array.from(desc.data);
    let order = keypoints.map((_, i) => i);
    if (options.method !== "orb" && options.nfeatures !== undefined && count > options.nfeatures) {
      order = order.sort((a, b) => keypoints[b]!.response - keypoints[a]!.response).slice(0, options.nfeatures);
    }
    if (order.length === count) {
      return { keypoints, descriptors: all, descriptorSize, norm: isFloat ? "l2" : "hamming" };
    }
    const descriptors = isFloat ? new Float32Array(order.length * descriptorSize) : new Uint8Array(order.length * descriptorSize);
    order.forEach((src, dst) => descriptors.set(all.subarray(src * descriptorSize, (src + 1) * descriptorSize), dst * descriptorSize));
    return { keypoints: order.map((i) => keypoints[i]!), descriptors, descriptorSize, norm: isFloat ? "l2" : "hamming" };
  });
}

export interface Match {
  /** Index of the keypoint in the first (query) set. */
  queryIdx: number;
  /** Index of the keypoint in the second (train) set. */
  trainIdx: number;
  /** Descriptor distance (Hamming bits or L2). */
  distance: number;
}

export interface MatchOptions {
  /** Lowe's ratio: keep a match if best < ratio × second best; default 0.8. */
  ratio?: number;
  /** Also require the match to be the best in the reverse direction; default false. */
  crossCheck?: boolean;
}

/**
 * Brute-force k-nearest-neighbour matching of `a`'s descriptors (query) against `b`'s (train) with Lowe's ratio test:
 * a query's nearest neighbour is kept only if it is clearly closer than the second nearest, which discards ambiguous
 * features (repetitive texture) that a plain nearest neighbour would mis-pair. Hamming distance for binary descriptors
 * (`Uint8Array`), L2 for float ones. With a single train descriptor there is no second neighbour and no ratio test.
 */
export function matchFeatures(
  a: Pick<Features, "descriptors" | "descriptorSize">,
  b: Pick<Features, "descriptors" | "descriptorSize">,
  options: MatchOptions = {},
): Match[] {
  if (a.descriptorSize !== b.descriptorSize) throw new RangeError("descriptor sizes differ");
  const binary = a.descriptors instanceof Uint8Array;
  if (binary !== b.descriptors instanceof Uint8Array) throw new RangeError("descriptor types differ");
  const size = a.descriptorSize;
  const na = a.descriptors.length / size;
  const nb = b.descriptors.length / size;
  if (na === 0 || nb === 0) return [];
  const ratio = options.ratio ?? 0.8;
  const cv = openCvSync();
  return withMats((track) => {
    const type = binary ? cv.CV_8U : cv.CV_32F;
    const da = track(new cv.Mat(na, size, type));
    const db = track(new cv.Mat(nb, size, type));
    if (binary) {
      da.data.set(a.descriptors as Uint8Array);
      db.data.set(b.descriptors as Uint8Array);
    } else {
      da.data32F.set(a.descriptors as Float32Array);
      db.data32F.set(b.descriptors as Float32Array);
    }
    const matcher = track(new cv.BFMatcher(binary ? cv.NORM_HAMMING : cv.NORM_L2, false));
    const knn = track(new cv.DMatchVectorVector());
    matcher.knnMatch(da, db, knn, Math.min(2, nb));
    const out: Match[] = [];
    for (let i = 0; i < knn.size(); i++) {
      const pair = knn.get(i);
      try {
        if (pair.size() === 0) continue;
        const m0 = pair.get(0) as { queryIdx: number; trainIdx: number; distance: number };
        if (pair.size() > 1) {
          const m1 = pair.get(1) as { distance: number };
          if (!(m0.distance < ratio * m1.distance)) continue;
        }
        out.push({ queryIdx: m0.queryIdx, trainIdx: m0.trainIdx, distance: m0.distance });
      } finally {
        pair.delete();
      }
    }
    if (!options.crossCheck) return out;
    const back = track(new cv.DMatchVector());
    matcher.match(db, da, back);
    const reverse = new Int32Array(nb).fill(-1);
    for (let i = 0; i < back.size(); i++) {
      const m = back.get(i) as { queryIdx: number; trainIdx: number };
      reverse[m.queryIdx] = m.trainIdx;
    }
    return out.filter((m) => reverse[m.trainIdx] === m.queryIdx);
  });
}
