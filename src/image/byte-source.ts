/**
 * Positioned reads from a file: the only way image readers touch pixel data, so a windowed read costs the bytes of
 * the window's tiles or rows and never the whole file. An interface rather than a FileHandle so that tests can count
 * the bytes a read asks for (and callers can serve bytes from elsewhere, e.g. a cache).
 */
import { promises as fsp } from "fs";
import { ImageError } from "./errors";

export interface ByteSource {
  /** the file, for messages */
  readonly path: string;
  /** its size in bytes when opened */
  readonly size: number;
  /** `length` bytes from byte `position` (0-based); fewer only where the file ends */
  read(position: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Opens a file for positioned reads (fs.promises FileHandle.read at offsets). */
export async function openFileSource(path: string): Promise<ByteSource> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, "r");
  } catch (e) {
    throw new ImageError(`cannot open: ${(e as Error).message}`, path);
  }
  let size: number;
  try {
    size = (await handle.stat()).size;
  } catch (e) {
    await handle.close();
    throw new ImageError(`cannot stat: ${(e as Error).message}`, path);
  }
  let closed = false;
  return {
    path,
    size,
    async read(position, length) {
      if (closed) throw new ImageError("read after close()", path);
      const buf = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await handle.read(buf, got, length - got, position + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got === length ? buf : buf.subarray(0, got);
    },
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}
