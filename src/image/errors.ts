/**
 * An image that cannot be opened or read as asked: the message names the file and what to do, e.g. the window that
 * does not fit and the image's size, or the label keyword that is wrong and what it should be.
 */
export class ImageError extends Error {
  constructor(message: string, readonly path?: string) {
    super(path && !message.startsWith(path) ? `${path}: ${message}` : message);
    this.name = "ImageError";
  }
}
