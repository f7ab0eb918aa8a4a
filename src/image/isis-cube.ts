/**
 * ISIS3 cubes (attached or detached labels; Tile and BandSequential; UnsignedByte, SignedWord, UnsignedWord, Real;
 * Lsb and Msb) behind the Image interface.
 *
 * A read touches only what the window needs, through positioned reads: for a tiled cube, the rows of each tile the
 * window crosses (whole runs of adjacent tiles in one read when the window spans their full height); for a
 * band-sequential cube, the window's rows (consecutive rows in one read when the bytes between them are few, else
 * row by row). Reads go at most 8 at a time and 8 MiB each, so memory stays bounded whatever the window.
 *
 * At open, the file's size is checked against what the label says (a cube cut short by a failed copy fails here, not
 * later with garbage), and pixel conversion follows isis-pixels.ts (special pixels → NaN).
 */
import { readCubeLabel } from "../pvl/read-label";
import { openFileSource, type ByteSource } from "./byte-source";
import { ImageError } from "./errors";
import type { IsisImage, OpenImageOptions } from "./image";
import { describeLayout, isisCoreLayout, type IsisCoreLayout } from "./isis-core";
import { isisMappingGeoreference } from "./isis-mapping";
import { pixelDecoder, pixelView, type PixelDecoder } from "./isis-pixels";
import type { PixelWindow, Raster } from "./raster";
import { readSidecarGeoreference } from "./sidecar";
import { resolveWindow } from "./window";

/** Largest single read. */
const MAX_CHUNK = 8 * 1024 * 1024;
/** Reads in flight per window. */
const CONCURRENCY = 8;
/** Between two band-sequential rows, read through a gap up to this size rather than issue another read. */
const MERGE_GAP = 64 * 1024;

export async function openIsisCube(path: string, options: OpenImageOptions = {}): Promise<IsisImage> {
  const open = options.openSource ?? openFileSource;
  const labelSource = await open(path);
  let dataSource: ByteSource | undefined;
  try {
    const label = await readCubeLabel(path, { source: labelSource, maxLabelBytes: options.maxLabelBytes });
    const layout = isisCoreLayout(label, path);
    dataSource = layout.dataPath === path ? labelSource : await open(layout.dataPath);
    const end = layout.dataOffset + layout.dataBytes;
    if (dataSource.size < end) {
      throw new ImageError(
        `the label says ${describeLayout(layout)}: ${layout.dataBytes} bytes from byte ${layout.dataOffset + 1}, ending at ` +
          `byte ${end}, but the file has only ${dataSource.size} bytes: it is truncated, or not the file the label describes`,
        layout.dataPath,
      );
    }
    const mapping = isisMappingGeoreference(label, path);
    const georeference = mapping.georeference ?? (mapping.problem ? undefined : await readSidecarGeoreference(path));
    return new IsisCube(path, label, layout, labelSource, dataSource, georeference, mapping.problem);
  } catch (e) {
    if (dataSource && dataSource !== labelSource) await dataSource.close().catch(() => {});
    await labelSource.close().catch(() => {});
    throw e;
  }
}

interface Chunk {
  position: number;
  length: number;
  what: string;
  /** decodes the chunk's pixels into the output */
  apply(view: ArrayLike<number>): void;
}

class IsisCube implements IsisImage {
  readonly format = "isis3" as const;
  readonly width: number;
  readonly height: number;
  readonly bands: number;
  private closed = false;
  private readonly decode: PixelDecoder;

  constructor(
    readonly path: string,
    readonly label: IsisImage["label"],
    readonly layout: IsisCoreLayout,
    private readonly labelSource: ByteSource,
    private readonly dataSource: ByteSource,
    readonly georeference: IsisImage["georeference"],
    readonly georeferenceProblem: string | undefined,
  ) {
    this.width = layout.width;
    this.height = layout.height;
    this.bands = layout.bands;
    this.decode = pixelDecoder(layout.pixelType, layout.base, layout.multiplier);
  }

  async read(window?: PixelWindow, band = 0): Promise<Raster> {
    if (this.closed) throw new ImageError("read() after close()", this.path);
    const w = resolveWindow(window, band, this);
    const out = new Float32Array(w.width * w.height);
    const chunks = this.layout.format === "Tile" ? this.tileChunks(w, band, out) : this.rowChunks(w, band, out);
    await this.run(chunks);
    return { width: w.width, height: w.height, data: out };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.dataSource !== this.labelSource) await this.dataSource.close();
    await this.labelSource.close();
  }

  private tileChunks(w: PixelWindow, band: number, out: Float32Array): Chunk[] {
    const L = this.layout;
    const TW = L.tileWidth;
    const TH = L.tileHeight;
    const across = Math.ceil(L.width / TW);
    const down = Math.ceil(L.height / TH);
    const tileBytes = TW * TH * L.bytesPerPixel;
    const bandStart = L.dataOffset + band * across * down * tileBytes;
    const x1 = w.x + w.width;
    const y1 = w.y + w.height;
    const chunks: Chunk[] = [];
    for (let ty = Math.floor(w.y / TH); ty <= Math.floor((y1 - 1) / TH); ty++) {
      const r0 = Math.max(w.y, ty * TH) - ty * TH;
      const r1 = Math.min(y1, (ty + 1) * TH) - ty * TH;
      const txA = Math.floor(w.x / TW);
      const txB = Math.floor((x1 - 1) / TW);
      // Adjacent tiles are contiguous in the file only when whole: runs of whole tiles, else one tile at a time.
      const maxRun = r0 === 0 && r1 === TH ? Math.max(1, Math.floor(MAX_CHUNK / tileBytes)) : 1;
      for (let tx = txA; tx <= txB; tx += maxRun) {
        const n = Math.min(maxRun, txB - tx + 1);
        const first = tx;
        const perTile = (r1 - r0) * TW; // pixels of each tile in the chunk
        chunks.push({
          position: bandStart + (ty * across + tx) * tileBytes + r0 * TW * L.bytesPerPixel,
          length: n * perTile * L.bytesPerPixel,
          what: `tile row ${ty}, tiles ${tx}..${tx + n - 1}, band ${band}`,
          apply: (view) => {
            for (let k = 0; k < n; k++) {
              const tileX = (first + k) * TW;
              const cx0 = Math.max(w.x, tileX);
              const cx1 = Math.min(x1, tileX + TW);
              for (let r = r0; r < r1; r++) {
                const src = k * perTile + (r - r0) * TW + (cx0 - tileX);
                const dst = (ty * TH + r - w.y) * w.width + (cx0 - w.x);
                this.decode(view, src, out, dst, cx1 - cx0);
              }
            }
          },
        });
      }
    }
    return chunks;
  }

  private rowChunks(w: PixelWindow, band: number, out: Float32Array): Chunk[] {
    const L = this.layout;
    const bpp = L.bytesPerPixel;
    const rowBytes = L.width * bpp;
    const bandStart = L.dataOffset + band * L.height * rowBytes;
    const segment = w.width * bpp;
    const merge = rowBytes - segment <= MERGE_GAP;
    const rowsPerChunk = merge ? Math.max(1, Math.floor(MAX_CHUNK / rowBytes)) : 1;
    const chunks: Chunk[] = [];
    for (let y = w.y; y < w.y + w.height; y += rowsPerChunk) {
      const n = Math.min(rowsPerChunk, w.y + w.height - y);
      const firstRow = y;
      chunks.push({
        position: bandStart + y * rowBytes + w.x * bpp,
        length: (n - 1) * rowBytes + segment,
        what: `rows ${y}..${y + n - 1}, band ${band}`,
        apply: (view) => {
          for (let i = 0; i < n; i++) this.decode(view, i * L.width, out, (firstRow + i - w.y) * w.width, w.width);
        },
      });
    }
    return chunks;
  }

  private async run(chunks: Chunk[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const c = chunks[next++]!;
        const bytes = await this.dataSource.read(c.position, c.length);
        if (bytes.length < c.length) {
          throw new ImageError(
            `the file ended at byte ${c.position + bytes.length} while reading ${c.what} (${c.length} bytes from byte ` +
              `${c.position + 1}); it was ${this.dataSource.size} bytes when opened: truncated since?`,
            this.dataSource.path,
          );
        }
        c.apply(pixelView(bytes, this.layout.pixelType, this.layout.littleEndian));
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, chunks.length) }, worker));
  }
}
