/**
 * GeoTIFFs behind the Image interface, through the geotiff package (`fromFile`): stripped and tiled files, any
 * compression it decodes, 8/16/32-bit integer and 32/64-bit float samples, several bands (chunky or planar).
 *
 * A window is read with geotiff's `window` option, which decodes only the strips/tiles the window crosses. Values
 * equal to GDAL_NODATA become NaN (compared in the file's type, so a float32 nodata such as ISIS's NULL matches);
 * NaN stays NaN. Samples are converted to float32 (exact for 8- and 16-bit integers and float32; int32/uint32 beyond
 * 2^24 and float64 are rounded). Scale/offset in GDAL metadata are not applied, as GDAL does not apply them on read.
 *
 * At open, every strip/tile is checked to lie inside the file: geotiff decodes a block past the end of a truncated
 * file as zeros, which would pass for data.
 */
import { promises as fsp } from "fs";
import { fromFile, type GeoTIFF, type GeoTIFFImage as TiffImage } from "geotiff";
import { ImageError } from "./errors";
import { geoTiffGeoreference } from "./geotiff-georef";
import { summariseGeoTiff, type GeoTiffLabel } from "./geotiff-label";
import type { GeoTiffImage, OpenImageOptions } from "./image";
import type { PixelWindow, Raster } from "./raster";
import { readSidecarGeoreference } from "./sidecar";
import { resolveWindow } from "./window";

export async function openGeoTiff(path: string, options: OpenImageOptions = {}): Promise<GeoTiffImage> {
  let tiff: GeoTIFF;
  try {
    tiff = await fromFile(path);
  } catch (e) {
    throw new ImageError(`cannot open as a GeoTIFF: ${(e as Error).message}`, path);
  }
  try {
    const image = await tiff.getImage(0);
    const label = await summariseGeoTiff(tiff, image, path);
    await checkBlocksInFile(image, label, path);
    const geo = geoTiffGeoreference(label, { radius: options.radius });
    const georeference = geo.georeference ?? (geo.problem ? undefined : await readSidecarGeoreference(path));
    return new GeoTiff(path, tiff, image, label, georeference, geo.problem);
  } catch (e) {
    await Promise.resolve(tiff.close()).catch(() => {});
    if (e instanceof ImageError) throw e;
    throw new ImageError(`cannot read the GeoTIFF's tags: ${(e as Error).message}`, path);
  }
}

class GeoTiff implements GeoTiffImage {
  readonly format = "geotiff" as const;
  readonly width: number;
  readonly height: number;
  readonly bands: number;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly tiff: GeoTIFF,
    private readonly image: TiffImage,
    readonly label: GeoTiffLabel,
    readonly georeference: GeoTiffImage["georeference"],
    readonly georeferenceProblem: string | undefined,
  ) {
    this.width = label.width;
    this.height = label.height;
    this.bands = label.samplesPerPixel;
  }

  async read(window?: PixelWindow, band = 0): Promise<Raster> {
    if (this.closed) throw new ImageError("read() after close()", this.path);
    const w = resolveWindow(window, band, this);
    let samples: ArrayLike<number>;
    try {
      const rasters = await this.image.readRasters({
        window: [w.x, w.y, w.x + w.width, w.y + w.height],
        samples: [band],
        interleave: false,
      });
      samples = rasters[0] as ArrayLike<number>;
    } catch (e) {
      throw new ImageError(`cannot read window {x: ${w.x}, y: ${w.y}, width: ${w.width}, height: ${w.height}}: ${(e as Error).message}`, this.path);
    }
    const n = w.width * w.height;
    if (samples.length !== n) throw new ImageError(`the decoder returned ${samples.length} samples for a ${n}-pixel window`, this.path);
    const data = samples instanceof Float32Array ? samples : Float32Array.from(samples);
    const nd = this.label.noData;
    if (nd !== null && !Number.isNaN(nd)) {
      const target = this.label.dataType === "float32" ? Math.fround(nd) : nd;
      // Compare the file's values, not their float32 roundings (an int32 nodata must not swallow its neighbours).
      for (let i = 0; i < n; i++) if (samples[i] === target) data[i] = NaN;
    }
    return { width: w.width, height: w.height, data };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tiff.close();
  }
}

/** Throws when a strip or tile of the first image extends past the end of the file (a truncated copy). */
async function checkBlocksInFile(image: TiffImage, label: GeoTiffLabel, path: string): Promise<void> {
  const dir = image.fileDirectory;
  const [offsetsTag, countsTag] = label.tiled ? ["TileOffsets", "TileByteCounts"] : ["StripOffsets", "StripByteCounts"];
  if (!dir.hasTag(offsetsTag as never) || !dir.hasTag(countsTag as never)) {
    throw new ImageError(`the TIFF has no ${offsetsTag}/${countsTag}: not a readable image`, path);
  }
  const offsets = (await dir.loadValue(offsetsTag as never)) as ArrayLike<number | bigint>;
  const counts = (await dir.loadValue(countsTag as never)) as ArrayLike<number | bigint>;
  const { size } = await fsp.stat(path);
  let end = 0;
  let block = -1;
  for (let i = 0; i < offsets.length; i++) {
    const count = Number(counts[i] ?? 0);
    if (count === 0) continue; // sparse block: reads as nodata/zero by design
    const e = Number(offsets[i]) + count;
    if (e > end) (end = e), (block = i);
  }
  if (end > size) {
    throw new ImageError(
      `${label.tiled ? "tile" : "strip"} ${block} ends at byte ${end} but the file has only ${size} bytes: it is truncated`,
      path,
    );
  }
}
