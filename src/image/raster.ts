/**
 * Rasters: the one pixel convention of autocnet-ts, stated once.
 *
 * - Row-major, one band: `data[y * width + x]`.
 * - 0-based: the first pixel is (x = 0, y = 0); x is the column (ISIS "sample" − 1), y the row (ISIS "line" − 1).
 * - Pixel centres sit at integer coordinates: pixel (x, y) covers [x − 0.5, x + 0.5] × [y − 0.5, y + 0.5].
 *   (GDAL/GeoTIFF raster space puts the centre of the first pixel at (0.5, 0.5); ISIS puts it at sample 1.0, line 1.0.
 *   Conversions to those live next to the formats, never in the algorithms.)
 * - No-data (ISIS special pixels, GeoTIFF nodata) is NaN.
 */
export interface Raster {
  width: number;
  height: number;
  data: Float32Array;
}

/** A rectangle of whole pixels: top-left pixel (x, y), 0-based, and its size. */
export interface PixelWindow {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function createRaster(width: number, height: number, fill = 0): Raster {
  const data = new Float32Array(width * height);
  if (fill !== 0) data.fill(fill);
  return { width, height, data };
}
