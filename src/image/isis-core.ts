/**
 * Where an ISIS cube's pixels are and how they are laid out, from `IsisCube > Core` of its label — checked before any
 * pixel is read, with messages naming the keyword and what it should be.
 *
 * Layouts (ISIS CubeTileHandler / CubeBsqHandler):
 * - `Format = Tile`: the band is cut into TileSamples × TileLines tiles, stored band by band, tile row by tile row,
 *   left to right; each tile is TileLines rows of TileSamples pixels. Tiles at the right and bottom edges are stored
 *   full size (padding beyond the image).
 * - `Format = BandSequential`: band 1's rows top to bottom, then band 2's, …
 *
 * `StartByte` is 1-based (the first byte of the file is byte 1). A detached label (`^Core = file.cub`) points to the
 * data file, relative to the label's directory.
 */
import * as nodePath from "path";
import { pvlBlock, pvlFind, pvlScalar } from "../pvl/access";
import type { PvlEntry, PvlObject } from "../pvl/types";
import { ImageError } from "./errors";
import { BYTES_PER_PIXEL, ISIS_PIXEL_TYPES, type IsisPixelType } from "./isis-pixels";

export interface IsisCoreLayout {
  width: number;
  height: number;
  bands: number;
  format: "Tile" | "BandSequential";
  /** tile size in pixels; for BandSequential one row (width × 1) */
  tileWidth: number;
  tileHeight: number;
  pixelType: IsisPixelType;
  bytesPerPixel: number;
  littleEndian: boolean;
  base: number;
  multiplier: number;
  /** the file holding the pixels: the cube itself, or the file a detached label points to */
  dataPath: string;
  /** 0-based offset of the first pixel byte in `dataPath` */
  dataOffset: number;
  /** bytes of pixel data the layout implies (tiles padded) */
  dataBytes: number;
}

const CORE = "IsisCube > Core";

export function isisCoreLayout(label: PvlObject, labelPath: string): IsisCoreLayout {
  const fail = (msg: string): never => {
    throw new ImageError(msg, labelPath);
  };
  const cube = pvlFind(label, "IsisCube");
  if (cube === undefined) {
    const pds = pvlFind(label, "PDS_VERSION_ID") !== undefined ? " (this is a PDS3 label: convert it with ISIS pds2isis or open it with GDAL)" : "";
    fail(`no 'Object = IsisCube' in the label: not an ISIS3 cube${pds}`);
  }
  const core = block(label, ["IsisCube", "Core"], labelPath);
  const dims = block(label, ["IsisCube", "Core", "Dimensions"], labelPath);
  const pixels = block(label, ["IsisCube", "Core", "Pixels"], labelPath);

  const width = positiveInt(dims, "Samples", `${CORE} > Dimensions`, labelPath);
  const height = positiveInt(dims, "Lines", `${CORE} > Dimensions`, labelPath);
  const bands = positiveInt(dims, "Bands", `${CORE} > Dimensions`, labelPath);

  const typeName = word(pixels, "Type", `${CORE} > Pixels`, labelPath);
  const pixelType = ISIS_PIXEL_TYPES.find((t) => t.toLowerCase() === typeName.toLowerCase());
  if (!pixelType) fail(`${CORE} > Pixels > Type = ${typeName} is not supported: supported are ${ISIS_PIXEL_TYPES.join(", ")}`);
  const order = word(pixels, "ByteOrder", `${CORE} > Pixels`, labelPath).toLowerCase();
  if (order !== "lsb" && order !== "msb") fail(`${CORE} > Pixels > ByteOrder must be Lsb or Msb, found ${order}`);
  const base = optionalNumber(pixels, "Base", `${CORE} > Pixels`, labelPath) ?? 0;
  const multiplier = optionalNumber(pixels, "Multiplier", `${CORE} > Pixels`, labelPath) ?? 1;

  const formatName = word(core, "Format", CORE, labelPath);
  let format: IsisCoreLayout["format"];
  let tileWidth = width;
  let tileHeight = 1;
  if (formatName.toLowerCase() === "tile") {
    format = "Tile";
    tileWidth = positiveInt(core, "TileSamples", CORE, labelPath);
    tileHeight = positiveInt(core, "TileLines", CORE, labelPath);
  } else if (formatName.toLowerCase() === "bandsequential") {
    format = "BandSequential";
  } else {
    fail(`${CORE} > Format = ${formatName} is not supported: supported are Tile and BandSequential`);
  }

  const startByte = positiveInt(core, "StartByte", CORE, labelPath);
  let dataPath = labelPath;
  const pointer = pvlFind(core, "^Core");
  if (pointer !== undefined) {
    const file = pvlScalar(pointer);
    if (typeof file !== "string" || file === "") {
      fail(`${CORE} > ^Core must name the data file (^Core = file.cub), found ${JSON.stringify(pointer)}`);
    }
    dataPath = nodePath.resolve(nodePath.dirname(labelPath), file as string);
  }
  const bytesPerPixel = BYTES_PER_PIXEL[pixelType!];
  const tilesAcross = Math.ceil(width / tileWidth);
  const tilesDown = Math.ceil(height / tileHeight);
  const dataBytes = tilesAcross * tileWidth * tilesDown * tileHeight * bands * bytesPerPixel;
  if (!Number.isSafeInteger(dataBytes + startByte)) {
    fail(`the label's dimensions (${width} × ${height} × ${bands}) are too large to address`);
  }
  return {
    width, height, bands, format: format!, tileWidth, tileHeight, pixelType: pixelType!, bytesPerPixel,
    littleEndian: order === "lsb", base, multiplier, dataPath, dataOffset: startByte - 1, dataBytes,
  };
}

/** "500 × 500 × 1 Real pixels in Tile format (512 × 512 tiles)" */
export function describeLayout(l: IsisCoreLayout): string {
  const tiles = l.format === "Tile" ? ` (${l.tileWidth} × ${l.tileHeight} tiles)` : "";
  return `${l.width} × ${l.height} × ${l.bands} ${l.pixelType} pixels in ${l.format} format${tiles}`;
}

function block(label: PvlObject, path: string[], file: string): PvlObject {
  let found: PvlObject | undefined;
  try {
    found = pvlBlock(label, ...path);
  } catch (e) {
    throw new ImageError(`${(e as Error).message}: not a cube label ISIS would read`, file);
  }
  if (!found) throw new ImageError(`the label has no ${path.join(" > ")}: not a complete ISIS3 cube label`, file);
  return found;
}

function entry(b: PvlObject, name: string, where: string, file: string): PvlEntry {
  const e = pvlFind(b, name);
  if (e === undefined) throw new ImageError(`the label has no ${where} > ${name}`, file);
  return e;
}

function positiveInt(b: PvlObject, name: string, where: string, file: string): number {
  const v = pvlScalar(entry(b, name, where, file));
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) {
    throw new ImageError(`${where} > ${name} must be a positive integer, found ${JSON.stringify(v ?? b[name])}`, file);
  }
  return v;
}

function word(b: PvlObject, name: string, where: string, file: string): string {
  const v = pvlScalar(entry(b, name, where, file));
  if (typeof v !== "string") throw new ImageError(`${where} > ${name} must be a word, found ${JSON.stringify(v ?? b[name])}`, file);
  return v;
}

function optionalNumber(b: PvlObject, name: string, where: string, file: string): number | undefined {
  const e = pvlFind(b, name);
  if (e === undefined) return undefined;
  const v = pvlScalar(e);
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new ImageError(`${where} > ${name} must be a number, found ${JSON.stringify(v ?? e)}`, file);
  }
  return v;
}
