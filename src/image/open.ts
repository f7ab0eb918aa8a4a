/**
 * openImage: one entry point for every format, chosen by the file's first bytes (not its extension — cubes are
 * often named .cub, .lbl, .img or nothing): a TIFF signature (II*\0, MM\0*, or BigTIFF's II+\0 / MM\0+) is a
 * GeoTIFF, anything else must be an ISIS3 label (attached or detached), or the error says what the file starts with.
 */
import { promises as fsp } from "fs";
import { PvlError } from "../pvl/error";
import { ImageError } from "./errors";
import { openGeoTiff } from "./geotiff-read";
import type { Image, OpenImageOptions } from "./image";
import { openIsisCube } from "./isis-cube";

export async function openImage(path: string, options: OpenImageOptions = {}): Promise<Image> {
  const head = await firstBytes(path, 4);
  if (isTiff(head)) return openGeoTiff(path, options);
  try {
    return await openIsisCube(path, options);
  } catch (e) {
    if (e instanceof PvlError && /does not start with PVL text|is not UTF-8 text/.test(e.detail)) {
      const hex = Array.from(head, (b) => b.toString(16).padStart(2, "0")).join(" ");
      throw new ImageError(`neither a GeoTIFF nor an ISIS3 cube or label (first bytes: ${hex}): ${e.detail}`, path);
    }
    throw e;
  }
}

function isTiff(b: Uint8Array): boolean {
  if (b.length < 4) return false;
  const le = b[0] === 0x49 && b[1] === 0x49 && (b[2] === 0x2a || b[2] === 0x2b) && b[3] === 0;
  const be = b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && (b[3] === 0x2a || b[3] === 0x2b);
  return le || be;
}

async function firstBytes(path: string, n: number): Promise<Uint8Array> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, "r");
  } catch (e) {
    throw new ImageError(`cannot open: ${(e as Error).message}`, path);
  }
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
