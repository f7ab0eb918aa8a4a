/**
 * One interface for every image format we read, so matching code never asks what the file was: pixels come back as
 * a {@link Raster} in the convention of raster.ts (row-major float32, 0-based, no-data as NaN) and positions on the
 * ground through a {@link Georeference}.
 */
import type { PvlObject } from "../pvl/types";
import type { ByteSource } from "./byte-source";
import type { Georeference } from "./georeference";
import type { GeoTiffLabel } from "./geotiff-label";
import type { PixelWindow, Raster } from "./raster";

export type ImageFormat = "isis3" | "geotiff";

interface ImageBase {
  /** the file opened (for a detached ISIS label: the label) */
  readonly path: string;
  readonly width: number;
  readonly height: number;
  readonly bands: number;
  /** pixel ↔ ground, when the file (or its `.georef.json` sidecar) says where it is */
  readonly georeference?: Georeference;
  /**
   * Why `georeference` is undefined although the file has georeferencing we do not support (a projection other than
   * equirectangular/simple cylindrical, a GeoTIFF with only ground control points, …); undefined otherwise.
   */
  readonly georeferenceProblem?: string;
  /**
   * Reads a window (default: the whole image) of one band (0-based, default 0) as float32. Reads only the bytes of
   * the tiles/rows the window touches. Throws ImageError for a window outside the image or a missing band.
   */
  read(window?: PixelWindow, band?: number): Promise<Raster>;
  /** Releases the file; reads after close() fail. */
  close(): Promise<void>;
}

export interface IsisImage extends ImageBase {
  readonly format: "isis3";
  /** the whole parsed label */
  readonly label: PvlObject;
}

export interface GeoTiffImage extends ImageBase {
  readonly format: "geotiff";
  /** a summary of the TIFF and GeoTIFF tags */
  readonly label: GeoTiffLabel;
}

export type Image = IsisImage | GeoTiffImage;

export interface OpenImageOptions {
  /**
   * Radius in metres of the body, used when the file does not state it (a GeoTIFF without GeogSemiMajorAxisGeoKey
   * and without a known EPSG datum). Default {@link DEFAULT_RADIUS_M}, the Moon's.
   */
  radius?: number;
  /**
   * How ISIS cubes and labels are opened for positioned reads (default: the file system); tests use it to count the
   * bytes a read costs. GeoTIFFs are read through geotiff's own file source.
   */
  openSource?: (path: string) => Promise<ByteSource>;
  /** see ReadLabelOptions.maxLabelBytes */
  maxLabelBytes?: number;
}

/**
 * The Moon's mean radius (IAU), metres: the body of this project's example data. Used only when neither the file nor
 * the caller gives a radius.
 */
export const DEFAULT_RADIUS_M = 1_737_400;
