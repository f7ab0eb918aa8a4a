/**
 * A control network as plain data, field for field what an ISIS binary control network holds
 * (`ControlNetFileHeaderV0002` / `ControlPointFileEntryV0002`, see `proto/README.md`).
 *
 * **Pixel convention.** A `ControlMeasure` carries ISIS's `sample` and `line` verbatim, as they are in the
 * file: 1-based, the centre of the first pixel at (1.0, 1.0), its upper-left corner at (0.5, 0.5)
 * (ISIS `maplab` documentation: "the center of the upper-left pixel of an ISIS cube (1.0, 1.0)").
 * The rest of autocnet-ts is 0-based with pixel centres at integer coordinates (`src/image/raster.ts`):
 * x = column, y = row, the first pixel's centre at (0, 0). Both conventions put centres on integers, so
 * the conversion is a shift by one pixel: `toIsisSampleLine(x, y)` = (x + 1, y + 1) and
 * `fromIsisSampleLine(sample, line)` = (sample − 1, line − 1). plio (`plio/io/io_controlnetwork.py`, `to_isis`
 * / `IsisStore.read`) adds / subtracts 0.5, its comment saying "ISIS pixels are centered on (0.5, 0.5)"; by
 * ISIS's own documentation the centre is at 1.0, so plio's +0.5 is right only for coordinates that put pixel
 * *corners* on integers (the first pixel spanning [0, 1], centre 0.5 → ISIS 1.0). Ours put centres on
 * integers, so +0.5 would be half a pixel off here.
 * `aprioriSample`/`aprioriLine` are ISIS values too; sigmas, residuals and `diameter` are in pixels and
 * need no shift.
 */

export type PointType = "free" | "constrained" | "fixed";

export type MeasureType = "candidate" | "manual" | "registeredPixel" | "registeredSubPixel";

/** ISIS `ControlPoint::SurfacePointSource` / `RadiusSource`, the proto's `AprioriSource`. */
export type AprioriSource =
  | "none"
  | "user"
  | "averageOfMeasures"
  | "reference"
  | "ellipsoid"
  | "dem"
  | "basemap"
  | "bundleSolution";

/** ISIS `ControlMeasureLogData::NumericLogDataType` names (codes 1–8). */
export type MeasureLogDataType =
  | "Obsolete_Eccentricity"
  | "GoodnessOfFit"
  | "MinimumPixelZScore"
  | "MaximumPixelZScore"
  | "PixelShift"
  | "WholePixelCorrelation"
  | "SubPixelCorrelation"
  | "Obsolete_AverageResidual";

export interface MeasureLogEntry {
  dataType: MeasureLogDataType;
  value: number;
}

/**
 * Upper triangle of the 3 × 3 variance–covariance matrix of body-fixed X, Y, Z, in m²,
 * in ISIS's order: [XX, XY, XZ, YY, YZ, ZZ].
 */
export type Covariance = [number, number, number, number, number, number];

/** A body-fixed rectangular point, metres. */
export interface SurfacePoint {
  x: number;
  y: number;
  z: number;
  covariance?: Covariance;
}

export interface ControlMeasure {
  /** ISIS cube serial number of the image. */
  serialNumber: string;
  type: MeasureType;
  /** ISIS's sample, verbatim (pixel convention: module comment). */
  sample: number;
  /** ISIS's line, verbatim. */
  line: number;
  ignore?: boolean;
  editLock?: boolean;
  jigsawRejected?: boolean;
  aprioriSample?: number;
  aprioriLine?: number;
  sampleSigma?: number;
  lineSigma?: number;
  diameter?: number;
  sampleResidual?: number;
  lineResidual?: number;
  chooserName?: string;
  datetime?: string;
  logData?: MeasureLogEntry[];
}

export interface ControlPoint {
  id: string;
  type: PointType;
  ignore?: boolean;
  editLock?: boolean;
  jigsawRejected?: boolean;
  chooserName?: string;
  datetime?: string;
  /** Index into `measures` of the reference measure, when set explicitly. */
  referenceIndex?: number;
  aprioriSurfacePointSource?: AprioriSource;
  aprioriSurfacePointSourceFile?: string;
  aprioriRadiusSource?: AprioriSource;
  aprioriRadiusSourceFile?: string;
  latitudeConstrained?: boolean;
  longitudeConstrained?: boolean;
  radiusConstrained?: boolean;
  aprioriSurfacePoint?: SurfacePoint;
  adjustedSurfacePoint?: SurfacePoint;
  measures: ControlMeasure[];
}

export interface ControlNetwork {
  networkId: string;
  targetName: string;
  userName?: string;
  /** ISIS writes `YYYY-MM-DDThh:mm:ss`; kept as text. */
  created?: string;
  lastModified?: string;
  description?: string;
  points: ControlPoint[];
}

/** Our 0-based, centre-at-integer pixel (x = column, y = row) → ISIS sample/line. */
export function toIsisSampleLine(x: number, y: number): { sample: number; line: number } {
  return { sample: x + 1, line: y + 1 };
}

/** ISIS sample/line → our 0-based, centre-at-integer pixel (x = column, y = row). */
export function fromIsisSampleLine(sample: number, line: number): { x: number; y: number } {
  return { x: sample - 1, y: line - 1 };
}

/** A control network file that cannot be read or a network that cannot be written: names the file and what to do. */
export class ControlNetError extends Error {
  constructor(message: string, readonly file?: string) {
    super(message);
    this.name = "ControlNetError";
  }
}

// Enum codes, as in the .proto files.

export const POINT_TYPE_CODE: Record<PointType, number> = { free: 2, constrained: 3, fixed: 4 };
/** 0 (obsolete_Tie) and 1 (obsolete_Ground) read as ISIS reads them: Free and Fixed. */
export const POINT_TYPE_FROM_CODE: Record<number, PointType> = { 0: "free", 1: "fixed", 2: "free", 3: "constrained", 4: "fixed" };

export const MEASURE_TYPES: MeasureType[] = ["candidate", "manual", "registeredPixel", "registeredSubPixel"];

export const APRIORI_SOURCES: AprioriSource[] = [
  "none", "user", "averageOfMeasures", "reference", "ellipsoid", "dem", "basemap", "bundleSolution",
];

/** Index = ISIS code; code 0 is ISIS's "invalid" placeholder. */
export const MEASURE_LOG_TYPES: (MeasureLogDataType | undefined)[] = [
  undefined,
  "Obsolete_Eccentricity",
  "GoodnessOfFit",
  "MinimumPixelZScore",
  "MaximumPixelZScore",
  "PixelShift",
  "WholePixelCorrelation",
  "SubPixelCorrelation",
  "Obsolete_AverageResidual",
];
