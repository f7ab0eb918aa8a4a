/**
 * Writing a Raster as a georeferenced GeoTIFF that GDAL (and ISIS via GDAL) reads.
 *
 * Pixel conventions are those of raster.ts; the georeference is an AffineGeoreference (georeference.ts), stored through its
 * corner-based GDAL geotransform (`toGdalGeoTransform()`), so the half-pixel shift lives in exactly one place. The file is
 * GeoTIFF "PixelIsArea": raster space (0, 0) is the outer corner of the first pixel, which is what a GDAL geotransform
 * means, so GDAL reports our geotransform back unchanged.
 *
 * The coordinate system is geographic longitude/latitude in degrees on a user-defined sphere (GeographicTypeGeoKey,
 * datum and ellipsoid all 32767 "user-defined", GeogSemiMajorAxis = GeogSemiMinorAxis = radius): planetary bodies have
 * no EPSG codes, and a sphere is what AffineGeoreference assumes.
 *
 * We use the `geotiff` package's writer (uncompressed, one strip, big-endian), but build the GeoKey directory ourselves:
 * its automatic one does not know GeogSemiMinorAxisGeoKey, datum or ellipsoid keys, and it would fall back to WGS 84.
 * Its writer reserves a fixed 1000 bytes for the tags; we re-read the header of every buffer we produce, so a tag block
 * that did not fit is an error instead of a corrupt file.
 */
import * as fs from "fs";
import * as path from "path";
import { fromArrayBuffer, writeArrayBuffer, type GeoTIFFImage, type GeotiffWriterMetadata } from "geotiff";
import type { Raster } from "./raster";
import type { AffineGeoreference, GdalGeoTransform } from "./georeference";

export type GeoTiffDType = "float32" | "uint8" | "uint16";

export interface WriteGeoTiffOptions {
  /**
   * The value no-data pixels (NaN in a Raster) are stored as, and announced in the GDAL_NODATA tag. Default: NaN for
   * float32 (so GDAL treats NaN pixels as no-data); none for integer types, where a NaN pixel is then an error.
   * Pick a value the data cannot take: for uint8/uint16, clamping can turn valid pixels into 0 or the maximum.
   */
  noData?: number;
  /**
   * Sample type on disk. Default float32 (exact). uint8/uint16 round to the nearest integer and clamp to the type's
   * range, as a sensor saturates; that is lossy by design.
   */
  dtype?: GeoTiffDType;
  /** Body name for the CRS, e.g. "Moon" (GDAL shows it as the CRS, datum and ellipsoid name): letters, digits, space, _ . ( ) -, ≤ 64 characters. */
  targetName?: string;
}

/** GeoTIFF key and code values used below (GeoTIFF 1.1 spec). */
const KEY = {
  GTModelType: 1024,
  GTRasterType: 1025,
  GTCitation: 1026,
  GeographicType: 2048,
  GeogCitation: 2049,
  GeogGeodeticDatum: 2050,
  GeogPrimeMeridian: 2051,
  GeogAngularUnits: 2054,
  GeogEllipsoid: 2056,
  GeogSemiMajorAxis: 2057,
  GeogSemiMinorAxis: 2058,
} as const;
const MODEL_TYPE_GEOGRAPHIC = 2;
const RASTER_PIXEL_IS_AREA = 1;
const USER_DEFINED = 32767;
const PRIME_MERIDIAN_GREENWICH = 8901;
const ANGULAR_UNIT_DEGREE = 9102;
const TAG_GEO_KEY_DIRECTORY = 34735;
const TAG_GEO_DOUBLE_PARAMS = 34736;
const TAG_GEO_ASCII_PARAMS = 34737;

/**
 * Writes `raster` to `file` as a one-band GeoTIFF whose georeference is `georef`. The file appears atomically: it is
 * written to a temporary file in the same directory and renamed, so a reader (or a crash) never sees half a file.
 */
export async function writeGeoTiff(file: string, raster: Raster, georef: AffineGeoreference, opts: WriteGeoTiffOptions = {}): Promise<void> {
  const bytes = await encodeGeoTiff(raster, georef, opts);
  await writeFileAtomic(file, bytes);
}

/** The GeoTIFF bytes writeGeoTiff writes (deterministic: no timestamps). */
export async function encodeGeoTiff(raster: Raster, georef: AffineGeoreference, opts: WriteGeoTiffOptions = {}): Promise<Uint8Array> {
  const { width, height, data } = raster;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`raster size must be positive integers, got ${width} x ${height}`);
  }
  if (data.length !== width * height) throw new Error(`raster data has ${data.length} values, expected ${width} x ${height} = ${width * height}`);
  if (!(georef.radius > 0) || !Number.isFinite(georef.radius)) throw new Error(`georeference radius must be a positive number of metres, got ${georef.radius}`);
  const dtype = opts.dtype ?? "float32";
  const targetName = opts.targetName;
  if (targetName !== undefined && !/^[A-Za-z0-9 _.()-]{1,64}$/.test(targetName)) {
    // '|' and '=' would break the GeoTIFF ASCII parameters and GDAL's "GCS Name = …|Datum = …" citation parsing.
    throw new Error(`targetName must be 1–64 of A–Z a–z 0–9 space _ . ( ) -, got ${JSON.stringify(targetName)}`);
  }

  const { values, noData } = convertSamples(data, width, dtype, opts.noData);
  const gt = georef.toGdalGeoTransform();
  if (!gt.every(Number.isFinite)) throw new Error(`georeference is not finite: ${gt.join(", ")}`);
  const [x0, dx, rx, y0, ry, dy] = gt;

  const metadata: GeotiffWriterMetadata & Record<string, unknown> = {
    width,
    height,
    // Present only to stop the writer's WGS 84 default; the writer drops *GeoKey entries once a GeoKeyDirectory is given.
    GeographicTypeGeoKey: USER_DEFINED,
    ...geoKeys(georef.radius, targetName),
  };
  if (rx === 0 && ry === 0 && dx > 0 && dy < 0) {
    // North-up without rotation: the classic tiepoint + pixel scale pair, which every GeoTIFF reader understands.
    metadata.ModelTiepoint = [0, 0, 0, x0, y0, 0];
    metadata.ModelPixelScale = [dx, -dy, 0];
  } else {
    // Rotation, shear or a flipped axis: the full raster → model matrix (row-major 4 × 4).
    metadata.ModelTransformation = [dx, rx, 0, x0, ry, dy, 0, y0, 0, 0, 0, 0, 0, 0, 0, 1];
  }
  if (noData !== undefined) metadata.GDAL_NODATA = formatNoData(noData);

  const buffer = writeArrayBuffer(values, metadata);
  await checkHeader(buffer, width, height, gt, georef.radius);
  return new Uint8Array(buffer);
}

function geoKeys(radius: number, targetName: string | undefined) {
  const citation = `${targetName ?? "Sphere"} (sphere, R = ${radius} m)|`;
  // "Sphere" alone would make GDAL call the datum "Authalic Sphere"; a radius-bearing name says what it is.
  const name = targetName ?? `Sphere_R${radius}m`;
  const gcs = `GCS Name = ${name}|Datum = D_${name}|Ellipsoid = ${name}|Primem = Greenwich|AUnits = Degree|`;
  const ascii = citation + gcs;
  // [KeyID, TIFFTagLocation, Count, Value_Offset], sorted by KeyID as the spec requires.
  const entries: number[][] = [
    [KEY.GTModelType, 0, 1, MODEL_TYPE_GEOGRAPHIC],
    [KEY.GTRasterType, 0, 1, RASTER_PIXEL_IS_AREA],
    [KEY.GTCitation, TAG_GEO_ASCII_PARAMS, citation.length, 0],
    [KEY.GeographicType, 0, 1, USER_DEFINED],
    [KEY.GeogCitation, TAG_GEO_ASCII_PARAMS, gcs.length, citation.length],
    [KEY.GeogGeodeticDatum, 0, 1, USER_DEFINED],
    [KEY.GeogPrimeMeridian, 0, 1, PRIME_MERIDIAN_GREENWICH],
    [KEY.GeogAngularUnits, 0, 1, ANGULAR_UNIT_DEGREE],
    [KEY.GeogEllipsoid, 0, 1, USER_DEFINED],
    [KEY.GeogSemiMajorAxis, TAG_GEO_DOUBLE_PARAMS, 1, 0],
    [KEY.GeogSemiMinorAxis, TAG_GEO_DOUBLE_PARAMS, 1, 1],
  ];
  return {
    GeoKeyDirectory: [1, 1, 0, entries.length, ...entries.flat()],
    GeoDoubleParams: [radius, radius],
    GeoAsciiParams: ascii,
  };
}

function convertSamples(data: Float32Array, width: number, dtype: GeoTiffDType, noDataOpt: number | undefined): { values: Float32Array | Uint8Array | Uint16Array; noData?: number } {
  if (dtype === "float32") {
    const noData = noDataOpt ?? NaN;
    if (Number.isNaN(noData)) return { values: data, noData };
    if (Math.fround(noData) !== noData) throw new Error(`noData ${noData} is not representable as float32`);
    const values = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      values[i] = Number.isNaN(v) ? noData : v;
    }
    return { values, noData };
  }
  const max = dtype === "uint8" ? 255 : 65535;
  if (noDataOpt !== undefined && !(Number.isInteger(noDataOpt) && noDataOpt >= 0 && noDataOpt <= max)) {
    throw new Error(`noData ${noDataOpt} is not a ${dtype} value (0..${max})`);
  }
  const values = dtype === "uint8" ? new Uint8Array(data.length) : new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (Number.isNaN(v)) {
      if (noDataOpt === undefined) {
        throw new Error(`pixel (x ${i % width}, y ${Math.floor(i / width)}) is no-data (NaN) but ${dtype} has no NaN: pass opts.noData`);
      }
      values[i] = noDataOpt;
    } else {
      values[i] = v <= 0 ? 0 : v >= max ? max : Math.round(v);
    }
  }
  return noDataOpt === undefined ? { values } : { values, noData: noDataOpt };
}

function formatNoData(v: number): string {
  return Number.isNaN(v) ? "nan" : String(v);
}

/**
 * The corner-based GDAL geotransform stored in a GeoTIFF image's tags (ModelTransformation, or tiepoint + pixel scale),
 * as GDAL reads it for PixelIsArea files. For checking what was written; not a general GeoTIFF reader.
 */
export function storedGeoTransform(image: GeoTIFFImage): GdalGeoTransform | undefined {
  const m = image.fileDirectory.getValue("ModelTransformation") as ArrayLike<number> | undefined;
  if (m && m.length === 16) return [m[3]!, m[0]!, m[1]!, m[7]!, m[4]!, m[5]!];
  const tie = image.fileDirectory.getValue("ModelTiepoint") as ArrayLike<number> | undefined;
  const scale = image.fileDirectory.getValue("ModelPixelScale") as ArrayLike<number> | undefined;
  if (tie && tie.length >= 6 && scale && scale.length >= 2) {
    return [tie[3]! - tie[0]! * scale[0]!, scale[0]!, 0, tie[4]! + tie[1]! * scale[1]!, 0, -scale[1]!];
  }
  return undefined;
}

/** Re-reads the tags of what the writer produced: its fixed-size tag block fails silently when overfull. */
async function checkHeader(buffer: ArrayBuffer, width: number, height: number, gt: GdalGeoTransform, radius: number): Promise<void> {
  const tiff = await fromArrayBuffer(buffer.slice(0));
  const image = await tiff.getImage();
  const keys = image.getGeoKeys();
  const stored = storedGeoTransform(image);
  const ok =
    image.getWidth() === width &&
    image.getHeight() === height &&
    keys?.GeogSemiMajorAxisGeoKey === radius &&
    keys?.GeogSemiMinorAxisGeoKey === radius &&
    stored !== undefined &&
    stored.every((v, i) => v === gt[i]);
  if (!ok) throw new Error("internal error: the GeoTIFF writer produced tags that do not read back (tag block overfull?)");
}

async function writeFileAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  await fs.promises.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  try {
    await fs.promises.writeFile(tmp, bytes);
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}
