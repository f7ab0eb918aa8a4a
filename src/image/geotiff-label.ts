/**
 * What a GeoTIFF says about itself, summarised from its first image's TIFF and GeoTIFF tags: the `label` of a GeoTIFF
 * Image (the counterpart of an ISIS cube's PVL label), plain data that can be logged or stored.
 */
import type { GeoTIFF, GeoTIFFImage } from "geotiff";
import { ImageError } from "./errors";

export type GeoTiffDataType = "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "float32" | "float64";

export interface GeoTiffLabel {
  width: number;
  height: number;
  samplesPerPixel: number;
  dataType: GeoTiffDataType;
  bitsPerSample: number[];
  tiled: boolean;
  /** tile size, or width × RowsPerStrip for strips */
  blockWidth: number;
  blockHeight: number;
  /** TIFF Compression code (1 none, 5 LZW, 8 Deflate, …) */
  compression: number;
  planarConfiguration: number;
  photometricInterpretation?: number;
  /** GDAL_NODATA, if set */
  noData: number | null;
  /** GTRasterTypeGeoKey: which point of a pixel the model coordinates refer to (default PixelIsArea) */
  rasterType: "PixelIsArea" | "PixelIsPoint";
  modelTransformation?: number[];
  modelTiepoint?: number[];
  modelPixelScale?: number[];
  /** the GeoKeyDirectory by key name, null without one */
  geoKeys: Record<string, unknown> | null;
  /** images (IFDs) in the file: the first is read; the others are usually overviews */
  images: number;
}

const FORMATS: Record<number, string> = { 1: "uint", 2: "int", 3: "float" };

export async function summariseGeoTiff(tiff: GeoTIFF, image: GeoTIFFImage, path: string): Promise<GeoTiffLabel> {
  const dir = image.fileDirectory;
  const missing = ["ImageWidth", "ImageLength", "BitsPerSample"].filter((t) => !dir.hasTag(t as never));
  if (missing.length > 0 || !(image.getWidth() > 0 && image.getHeight() > 0)) {
    throw new ImageError(`not a readable TIFF image: its first directory has no ${missing.join(", ") || "width or height"}`, path);
  }
  const spp = image.getSamplesPerPixel();
  const bits: number[] = [];
  const formats: string[] = [];
  for (let i = 0; i < spp; i++) {
    bits.push(image.getBitsPerSample(i));
    formats.push(FORMATS[image.getSampleFormat(i)] ?? `format ${image.getSampleFormat(i)}`);
  }
  const kinds = new Set(formats.map((f, i) => `${f}${bits[i]}`));
  if (kinds.size !== 1) throw new ImageError(`samples of different types (${[...kinds].join(", ")}) are not supported`, path);
  const dataType = [...kinds][0]! as GeoTiffDataType;
  const supported: GeoTiffDataType[] = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"];
  if (!supported.includes(dataType)) {
    throw new ImageError(`samples of type ${dataType} are not supported: supported are ${supported.join(", ")}`, path);
  }
  const numbers = async (tag: string): Promise<number[] | undefined> => {
    if (!dir.hasTag(tag as never)) return undefined;
    const v = await dir.loadValue(tag as never);
    return v ? Array.from(v as ArrayLike<number>, Number) : undefined;
  };
  const geoKeys = image.getGeoKeys() as Record<string, unknown> | null;
  const tiled = dir.hasTag("TileWidth");
  return {
    width: image.getWidth(),
    height: image.getHeight(),
    samplesPerPixel: spp,
    dataType,
    bitsPerSample: bits,
    tiled,
    blockWidth: image.getTileWidth(),
    blockHeight: image.getTileHeight(),
    compression: Number(dir.getValue("Compression") ?? 1),
    planarConfiguration: Number(dir.getValue("PlanarConfiguration") ?? 1),
    photometricInterpretation: dir.hasTag("PhotometricInterpretation") ? Number(dir.getValue("PhotometricInterpretation")) : undefined,
    noData: parseNoData(dir.hasTag("GDAL_NODATA") ? dir.getValue("GDAL_NODATA") : undefined),
    rasterType: geoKeys?.GTRasterTypeGeoKey === 2 ? "PixelIsPoint" : "PixelIsArea",
    modelTransformation: await numbers("ModelTransformation"),
    modelTiepoint: await numbers("ModelTiepoint"),
    modelPixelScale: await numbers("ModelPixelScale"),
    geoKeys,
    images: await tiff.getImageCount(),
  };
}

/** GDAL_NODATA is text: a number, or "nan", "inf", "-inf" (which Number() would turn into NaN, losing ±inf). */
export function parseNoData(text: unknown): number | null {
  if (typeof text !== "string") return null;
  const t = text.replace(/\0+$/, "").trim().toLowerCase();
  if (t === "") return null;
  if (/^[+-]?inf(inity)?$/.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  if (t === "nan") return NaN;
  const n = Number(t);
  return Number.isNaN(n) ? null : n;
}
