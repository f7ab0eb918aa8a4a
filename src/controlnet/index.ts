/** ISIS control networks: the model, the binary reader and writer, and ISIS file lists. */
export {
  ControlNetError,
  fromIsisSampleLine,
  toIsisSampleLine,
  type AprioriSource,
  type ControlMeasure,
  type ControlNetwork,
  type ControlPoint,
  type Covariance,
  type MeasureLogDataType,
  type MeasureLogEntry,
  type MeasureType,
  type PointType,
  type SurfacePoint,
} from "./model";
export { encodeControlNetwork, isisTimestamp, writeControlNetwork, type WriteControlNetworkOptions } from "./write";
export { decodeControlNetwork, readControlNetwork, type ReadControlNetworkOptions } from "./read";
export { validateControlNetwork } from "./validate";
export { readImageList, writeImageList } from "./image-list";
