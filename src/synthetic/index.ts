/**
 * Synthetic campaigns: overlapping images of a synthetic planetary surface with exact ground truth, for testing and
 * benchmarking matching. See campaign.ts for the whole pipeline; the parts are usable on their own (any ground function
 * can be rendered through any affine camera).
 */
export {
  syntheticCampaign,
  resolveCampaignOptions,
  campaignOptionsHash,
  defaultCampaignDir,
  campaignLayout,
  campaignGround,
  loadCampaignTruth,
  SYNTHETIC_VERSION,
  MOON_RADIUS,
  type SyntheticCampaignOptions,
  type SyntheticCampaign,
  type SyntheticFrame,
  type ResolvedCampaignOptions,
  type CraterOptions,
} from "./campaign";
export {
  trueGround,
  truePixel,
  aprioriGround,
  trueGeoreference,
  aprioriGeoreference,
  aprioriFromTruth,
  type CampaignTruth,
  type FrameTruth,
  type AprioriErrorOptions,
} from "./truth";
export { syntheticGround, TangentFrame, type GroundFunction, type GroundOptions, type SyntheticGround } from "./ground";
export { renderFrame, type RenderOptions } from "./render";
export {
  layoutFrames,
  frameAffine,
  frameCorners,
  overlapFraction,
  applyAffine,
  invertAffine,
  composeAffine,
  type FrameLayoutOptions,
  type FramePlacement,
} from "./frames";
export { CraterField, randomCraters, craterProfile, CRATER_REACH, type Crater, type CraterPopulationOptions, type Region } from "./craters";
export { SimplexNoise2, Fbm, type FbmOptions } from "./noise";
export { stream, gaussian, type Seed, type Random } from "./random";
export { syntheticImages } from "./footprints";
export { recordGroundTruth, loadGroundTruth, trueMeasure, type GroundTruthRow } from "./truth-table";
export { registrationAccuracy, type RegistrationAccuracy, type MeasureError } from "./accuracy";
