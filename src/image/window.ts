/**
 * Checking a read request against the image before any byte is read, with a message that names the window, the band
 * and the image's size.
 */
import { ImageError } from "./errors";
import type { PixelWindow } from "./raster";

/** Refuse windows beyond this many pixels (1 GiB of float32): read such images window by window. */
export const MAX_WINDOW_PIXELS = 2 ** 28;

export function describeWindow(w: PixelWindow): string {
  return `{x: ${w.x}, y: ${w.y}, width: ${w.width}, height: ${w.height}}`;
}

/** The window to read (the whole image when none is given), validated; throws ImageError otherwise. */
export function resolveWindow(
  window: PixelWindow | undefined,
  band: number,
  image: { path: string; width: number; height: number; bands: number },
): PixelWindow {
  const { path, width, height, bands } = image;
  const size = `${width} × ${height}${bands > 1 ? ` × ${bands} bands` : ""}`;
  if (!Number.isInteger(band) || band < 0 || band >= bands) {
    throw new ImageError(`band ${band} does not exist: the image has ${bands} band${bands === 1 ? "" : "s"} (0-based: 0..${bands - 1})`, path);
  }
  const w = window ?? { x: 0, y: 0, width, height };
  const fields = [w.x, w.y, w.width, w.height];
  if (!fields.every((v) => Number.isInteger(v))) {
    throw new ImageError(`window ${describeWindow(w)} must be whole pixels (integers)`, path);
  }
  if (w.width < 1 || w.height < 1) {
    throw new ImageError(`window ${describeWindow(w)} is empty: width and height must be at least 1`, path);
  }
  if (w.x < 0 || w.y < 0 || w.x + w.width > width || w.y + w.height > height) {
    const why: string[] = [];
    if (w.x < 0) why.push("x < 0");
    if (w.y < 0) why.push("y < 0");
    if (w.x + w.width > width) why.push(`x + width = ${w.x + w.width} > ${width}`);
    if (w.y + w.height > height) why.push(`y + height = ${w.y + w.height} > ${height}`);
    throw new ImageError(`window ${describeWindow(w)} is outside the ${size} image (${why.join(", ")})`, path);
  }
  if (w.width * w.height > MAX_WINDOW_PIXELS) {
    throw new ImageError(
      `window ${describeWindow(w)} has ${w.width * w.height} pixels, more than ${MAX_WINDOW_PIXELS} (1 GiB as float32): read it in smaller windows`,
      path,
    );
  }
  return { x: w.x, y: w.y, width: w.width, height: w.height };
}
