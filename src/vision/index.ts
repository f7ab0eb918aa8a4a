/**
 * Computer-vision building blocks for matching campaigns: pure functions over rasters (src/image/raster.ts: row-major,
 * 0-based, pixel centres at integer coordinates, NaN = no-data), usable without any queue or database.
 *
 * Functions that call OpenCV are synchronous and need `await loadOpenCv()` once per process first.
 */
export { loadOpenCv, openCvSync, withMats, wasmHeapBytes, wasmHeapProbe, cvError } from "./opencv";
export type { CV, Deletable } from "./opencv";
export { extractFeatures, matchFeatures, toUint8 } from "./features";
export type { FeatureMethod, FeatureOptions, Features, Keypoint, Match, MatchOptions, Uint8Image } from "./features";
export { estimateHomography, estimateAffine, applyHomography } from "./homography";
export type { Point2, RobustFitOptions, HomographyResult, AffineResult } from "./homography";
export { estimateFundamental, eightPoint, sampsonDistance } from "./fundamental";
export type { FundamentalOptions, FundamentalResult } from "./fundamental";
export { phaseCorrelate } from "./phase";
export type { PhaseCorrelationOptions, PhaseCorrelationResult } from "./phase";
export { subpixelRegister, correlationSurface } from "./subpixel";
export type { CorrelationSurface, Linear2, SubpixelOptions, SubpixelResult, SubpixelStatus } from "./subpixel";
export { ringMatch } from "./ring-match";
export type { RingFeature, RingMatchOptions, RingMatchResult } from "./ring-match";
export { splineWindow, sampleSpline, sampleSplineGrid, splineWeights } from "./interpolate";
export type { SplineWindow } from "./interpolate";
export { seededRandom, gaussianFrom, sampleIndices } from "./random";
