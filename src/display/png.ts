import { deflateSync } from "zlib";
import type { Raster } from "../image/raster";

/**
 * Rasters as PNG, for displays: 8-bit grey with alpha (NaN, no-data, is transparent), stretched linearly
 * between `min` and `max` (default: the 0.5 and 99.5 percentiles of the finite values, so a few hot pixels
 * do not grey the rest out). Row 0 of the raster is the top row of the picture.
 */
export function encodePng(raster: Raster, options: { min?: number; max?: number; colormap?: (t: number) => [number, number, number] } = {}): Buffer {
  const { width, height, data } = raster;
  if (!(width > 0 && height > 0) || data.length < width * height) throw new Error(`encodePng: a ${width}×${height} raster needs ${width * height} values, has ${data.length}`);
  const [lo, hi] = options.min !== undefined && options.max !== undefined ? [options.min, options.max] : stretch(data);
  const span = hi > lo ? hi - lo : 1;
  const color = options.colormap;
  const channels = color ? 4 : 2;
  const rows = Buffer.alloc(height * (1 + width * channels));
  let o = 0;
  for (let y = 0; y < height; y++) {
    rows[o++] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const v = data[y * width + x]!;
      const finite = Number.isFinite(v);
      const t = finite ? Math.min(1, Math.max(0, (v - lo) / span)) : 0;
      if (color) {
        const [r, g, b] = color(t);
        rows[o++] = r; rows[o++] = g; rows[o++] = b;
      } else rows[o++] = Math.round(t * 255);
      rows[o++] = finite ? 255 : 0;
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;                 // bit depth
  header[9] = color ? 6 : 4;     // RGBA or grey + alpha
  return Buffer.concat([SIGNATURE, chunk("IHDR", header), chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]);
}

/** A PNG as a data: URI (for <img> and SVG <image>). */
export function pngDataUri(png: Buffer): string {
  return `data:image/png;base64,${png.toString("base64")}`;
}

/** A perceptually ordered colour ramp (dark blue → teal → yellow), for correlation surfaces. */
export function viridisLike(t: number): [number, number, number] {
  const stops: [number, number, number][] = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const s = Math.min(stops.length - 1.000001, Math.max(0, t * (stops.length - 1)));
  const i = Math.floor(s), f = s - i;
  const a = stops[i]!, b = stops[i + 1]!;
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * f)) as [number, number, number];
}

function stretch(data: Float32Array): [number, number] {
  const finite: number[] = [];
  const step = Math.max(1, Math.floor(data.length / 20_000));
  for (let i = 0; i < data.length; i += step) if (Number.isFinite(data[i]!)) finite.push(data[i]!);
  if (finite.length === 0) return [0, 1];
  finite.sort((a, b) => a - b);
  const q = (p: number) => finite[Math.min(finite.length - 1, Math.floor(p * finite.length))]!;
  return [q(0.005), q(0.995)];
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length, 0);
  const typed = Buffer.concat([Buffer.from(type, "ascii"), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed), 0);
  return Buffer.concat([len, typed, crc]);
}

let table: Uint32Array | undefined;
function crc32(buf: Buffer): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of buf) c = table[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
