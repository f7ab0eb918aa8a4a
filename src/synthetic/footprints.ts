import type { ImageInput } from "../graph/model";

/** A 10 x 6 grid of slightly skewed footprints around (lon 140, lat -5), each overlapping its neighbours. */
export function syntheticImages(columns = 10, rows = 6): ImageInput[] {
  const images: ImageInput[] = [];
  for (let i = 0; i < columns; i++) {
    for (let j = 0; j < rows; j++) {
      const lon = 140 + i * 0.8, lat = -5 + j * 0.8, w = 1.1, h = 1.05, skew = 0.05 * ((i + j) % 3);
      images.push({
        name: `CTX_demo_${String(i).padStart(2, "0")}_${String(j).padStart(2, "0")}`,
        path: `/data/ctx/demo_${i}_${j}.cub`,
        footprint: {
          type: "Polygon",
          coordinates: [[[lon, lat], [lon + w, lat + skew], [lon + w + skew, lat + h], [lon + skew, lat + h - skew], [lon, lat]]],
        },
      });
    }
  }
  return images;
}
