import { describe, expect, it } from "vitest";
import { area, centroid, intersection, overlaps, parseFootprint, parseWkt } from "../src/geometry/polygons";

describe("footprints", () => {
  it("reads WKT POLYGON and MULTIPOLYGON (Z dropped) and GeoJSON, including a Feature and JSON text", () => {
    expect(parseWkt("POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))")).toEqual([[[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]]);
    expect(parseWkt("MULTIPOLYGON Z (((0 0 5, 1 0 5, 1 1 5, 0 0 5)), ((2 2 1, 3 2 1, 3 3 1, 2 2 1)))")).toHaveLength(2);
    const gj = { type: "Polygon" as const, coordinates: [[[0, 0], [2, 0], [2, 1], [0, 1], [0, 0]]] as [number, number][][] };
    expect(parseFootprint({ type: "Feature", geometry: gj })).toMatchObject({ ok: true });
    expect(parseFootprint(JSON.stringify(gj))).toMatchObject({ ok: true });
  });

  it.each([
    [null, "empty footprint"],
    ["POLYGON EMPTY", "empty footprint"],
    ["LINESTRING(0 0, 1 1)", /not WKT POLYGON/],
    ["POLYGON((0 0, 1 0, 1 1, 0 0)", /malformed WKT/],
    [{ type: "Polygon", coordinates: [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]] }, "self-intersecting ring"],
    [{ type: "Polygon", coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1]]] }, /not closed/],
    [{ type: "Polygon", coordinates: [[[0, 0], [1, 0], [0, 0]]] }, /fewer than 4/],
    [{ type: "Polygon", coordinates: [[[0, 0], [1, 0], [2, 0], [0, 0]]] }, /self-intersecting|zero-area/],
    [{ type: "Polygon", coordinates: [[[0, 0], [1, 0], [1, 95], [0, 0]]] }, /off the lon\/lat sphere/],
    [{ type: "Point", coordinates: [0, 0] }, /unsupported footprint type 'Point'/],
  ])("rejects %j: %s", (input, reason) => {
    const r = parseFootprint(input as never);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it("computes planar area (holes subtracted) and centroid in degrees", () => {
    const withHole = [[[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]], [[1, 1], [2, 1], [2, 2], [1, 2], [1, 1]]]] as [number, number][][][];
    expect(area(withHole)).toBe(15);
    expect(centroid([[[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]])).toEqual([1, 1]);
  });

  it("finds overlaps with positive area only: touching edges and corners are not overlaps", () => {
    const sq = (x: number, y: number, s = 1) => [[[[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]]]] as [number, number][][][];
    const found = overlaps([
      { id: 1, coords: sq(0, 0, 2) }, { id: 2, coords: sq(1, 1, 2) }, { id: 3, coords: sq(2, 0) }, { id: 4, coords: sq(3, 3) },
    ]);
    expect(found.map((o) => [o.source, o.destination, o.area])).toEqual([[1, 2, 1]]);
    expect(area(intersection(sq(0, 0), sq(1, 0)))).toBe(0);
  });
});
