/** Notebook displays: each returns a `Rendered` (HTML with an SVG chart + text); `show()` puts it in the notebook or on stdout. */
export { show, inKernel, rendered, updatableDisplay } from "./show";
export type { Rendered } from "./show";
export { queueDepthView, downsample } from "./queue-depth";
export type { QueueDepthData } from "./queue-depth";
export { lineageView, attemptBars } from "./lineage-chart";
export type { AttemptBar } from "./lineage-chart";
export { footprintMap } from "./footprint-map";
export type { MapPoint } from "./footprint-map";
export { sentinelStatusView } from "./status";
export { progressView, progressReporter } from "./progress";
export { OUTCOME_COLORS, QUEUE_COLORS, STATUS_COLORS } from "./colors";
export { encodePng, pngDataUri, viridisLike } from "./png";
export { imageView, imageSvg, matchesView } from "./image-view";
export type { ImageMarker, MatchPair } from "./image-view";
export { measureChipsView, chipAround } from "./chips-view";
export type { MeasureChip, MeasureChipsOptions } from "./chips-view";
export { residualView, residualStats } from "./residuals-view";
export type { Residual } from "./residuals-view";
