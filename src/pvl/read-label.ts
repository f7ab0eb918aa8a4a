/**
 * Reading the label of an ISIS cube without reading the cube.
 *
 * An attached label is text at the start of the file, ended by a line `End` and followed (after NUL padding up to
 * `Label > Bytes`) by the binary core. We do not know `Bytes` before parsing, so we read 64 KiB chunks until the
 * `End` line, a NUL byte (binary data: the text has ended) or the end of the file — a 1 GB cube costs one 64 KiB read
 * for a typical label — and refuse to go past `maxLabelBytes` (16 MiB by default) when none of them comes, which is
 * what a file that is not a label looks like. A detached label (`.lbl` whose `Core` has `^Core = file.cub`) is the
 * same text in a file of its own and is read the same way.
 */
import { promises as fsp } from "fs";
import { PvlError } from "./error";
import { parsePvl } from "./parse";
import { decodeLabel } from "./text";
import type { PvlObject } from "./types";

/** Positioned reads: what readCubeLabel needs from a file (src/image's ByteSource has this shape). */
export interface LabelSource {
  /** the file's size in bytes */
  readonly size: number;
  /** `length` bytes from byte `position` (0-based); fewer only at the end of the file */
  read(position: number, length: number): Promise<Uint8Array>;
}

export interface ReadLabelOptions {
  /** stop and fail when no `End` line comes within this many bytes (default 16 MiB) */
  maxLabelBytes?: number;
  /** read through this instead of opening the path (the path is then only used in messages) */
  source?: LabelSource;
  /** see ParsePvlOptions.maxDepth */
  maxDepth?: number;
}

export const DEFAULT_MAX_LABEL_BYTES = 16 * 1024 * 1024;
const CHUNK = 64 * 1024;

/** Parses the label of an ISIS cube (attached) or a detached label file, reading only the label's bytes. */
export async function readCubeLabel(path: string, options: ReadLabelOptions = {}): Promise<PvlObject> {
  const text = await readLabelText(path, options);
  return parsePvl(text, { source: path, maxDepth: options.maxDepth });
}

/** The label's text: the file's bytes up to and including its `End` line (or up to binary data / end of file). */
export async function readLabelText(path: string, options: ReadLabelOptions = {}): Promise<string> {
  const maxBytes = options.maxLabelBytes ?? DEFAULT_MAX_LABEL_BYTES;
  if (options.source) return scan(options.source, path, maxBytes);
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, "r");
  } catch (e) {
    throw new PvlError(`cannot open the label: ${(e as Error).message}`, undefined, path);
  }
  try {
    const { size } = await handle.stat();
    const source: LabelSource = {
      size,
      async read(position, length) {
        const buf = new Uint8Array(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await handle.read(buf, got, length - got, position + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return got === length ? buf : buf.subarray(0, got);
      },
    };
    return await scan(source, path, maxBytes);
  } finally {
    await handle.close();
  }
}

async function scan(source: LabelSource, path: string, maxBytes: number): Promise<string> {
  let buf = new Uint8Array(0);
  let resume = 0;
  for (;;) {
    const eof = buf.length >= source.size;
    const found = findLabelEnd(buf, resume, eof);
    if (found.end >= 0) {
      const bytes = buf.subarray(0, found.end);
      checkLooksLikeText(bytes, path);
      if (found.byNul && !bytes.includes(0x3d)) {
        throw new PvlError(
          `does not start with PVL text (binary data from byte ${found.end}; first bytes: ${hex(buf)}): ` +
            `not an ISIS cube or label`,
          undefined,
          path,
        );
      }
      return decodeLabel(bytes, path);
    }
    if (eof) {
      checkLooksLikeText(buf, path);
      return decodeLabel(buf, path);
    }
    if (buf.length >= maxBytes) {
      throw new PvlError(
        `no 'End' line within the first ${maxBytes} bytes: not an ISIS label, or a label larger than maxLabelBytes`,
        undefined,
        path,
      );
    }
    const want = Math.min(CHUNK, source.size - buf.length, maxBytes - buf.length);
    const chunk = await source.read(buf.length, want);
    if (chunk.length === 0) {
      throw new PvlError(`the file ended at byte ${buf.length} although it has ${source.size} bytes`, undefined, path);
    }
    const grown = new Uint8Array(buf.length + chunk.length);
    grown.set(buf);
    grown.set(chunk, buf.length);
    buf = grown;
    resume = found.resume;
  }
}

/**
 * Where the label text ends in `buf`: after the `End` line's last character, or at the first NUL byte. `resume` is the
 * line start to scan from once more bytes have arrived (a line cut by the chunk boundary is scanned again).
 */
function findLabelEnd(buf: Uint8Array, from: number, eof: boolean): { end: number; resume: number; byNul?: boolean } {
  let nul = buf.indexOf(0, from);
  if (nul < 0) nul = Infinity;
  let i = from;
  while (i < buf.length) {
    let j = i;
    while (j < buf.length && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
    if ((buf[j]! | 0x20) === 0x65 && (buf[j + 1]! | 0x20) === 0x6e && (buf[j + 2]! | 0x20) === 0x64) {
      let k = j + 3;
      while (k < buf.length && (buf[k] === 0x20 || buf[k] === 0x09 || buf[k] === 0x0d)) k++;
      if (k >= buf.length) {
        if (eof) return { end: k, resume: i };
        return { end: -1, resume: i };
      }
      if (buf[k] === 0x0a || buf[k] === 0) return { end: k, resume: i };
    }
    const nl = buf.indexOf(0x0a, i);
    if (nul < (nl < 0 ? Infinity : nl)) return { end: nul, resume: i, byNul: true };
    if (nl < 0) return { end: -1, resume: i };
    i = nl + 1;
  }
  return { end: -1, resume: i };
}

/**
 * Binary files handed to readCubeLabel (a GeoTIFF, a raw image) fail here with their first bytes rather than with a
 * parse error about garbage. Bytes from 0x80 pass: UTF-8 is checked when decoding.
 */
function checkLooksLikeText(bytes: Uint8Array, path: string): void {
  const head = bytes.subarray(0, 64);
  for (let i = 0; i < head.length; i++) {
    const b = head[i]!;
    const text = b === 0x09 || b === 0x0a || b === 0x0c || b === 0x0d || (b >= 0x20 && b !== 0x7f);
    if (!text) {
      throw new PvlError(
        `does not start with PVL text (byte ${i} is 0x${b.toString(16).padStart(2, "0")}; first bytes: ${hex(head)}): ` +
          `not an ISIS cube or label`,
        undefined,
        path,
      );
    }
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 8), (x) => x.toString(16).padStart(2, "0")).join(" ");
}
