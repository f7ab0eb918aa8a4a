import * as fs from "fs";
import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";
import {
  PvlError, isPvlBlock, isPvlQuantity, isPvlSet, isRepeated, parsePvl, pvlAll, pvlBlock, pvlGet, pvlKind, pvlScalar,
  pvlUnit, readCubeLabel, type LabelSource, type PvlEntry, type PvlObject,
} from "../src/pvl";
import { APOLLO, HAVE_GDAL, NO_GDAL_REASON, gdal, tempDir } from "./fixtures/images/gdal-tools";

const CUBE_0297 = path.join(APOLLO, "AS15-M-0297_crop.cub");
const CUBE_0298 = path.join(APOLLO, "AS15-M-0298_crop.cub");
const tmp = tempDir("acn-pvl-");
afterAll(() => tmp.remove());

/** The PvlError thrown by `fn`, failing the test when it does not throw one. */
function pvlError(fn: () => unknown): PvlError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PvlError) return e;
    throw e;
  }
  throw new Error("expected a PvlError, nothing was thrown");
}

async function pvlErrorAsync(p: Promise<unknown>): Promise<PvlError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  if (e instanceof PvlError) return e;
  throw new Error(`expected a PvlError, got ${String(e)}`);
}

describe("PVL on the real Apollo 15 cube labels", () => {
  it("reads the values ISIS wrote: target, core layout, units, continued lines, repeated objects", async () => {
    const label = await readCubeLabel(CUBE_0297);
    expect(pvlGet(label, "IsisCube", "Instrument", "TargetName")).toBe("MOON");
    expect(pvlGet(label, "IsisCube", "Instrument", "SpacecraftName")).toBe("APOLLO 15");
    expect(pvlGet(label, "IsisCube", "Core", "StartByte")).toBe(65537);
    expect(pvlGet(label, "IsisCube", "Core", "TileSamples")).toBe(500);
    expect(pvlGet(label, "isiscube", "CORE", "dimensions", "samples")).toBe(500);
    expect(pvlGet(label, "IsisCube", "Core", "Pixels")).toEqual({
      Type: "Real", ByteOrder: "Lsb", Base: 0, Multiplier: 1,
    });
    const altitude = pvlGet(label, "IsisCube", "Code", "SpacecraftAltitude");
    expect(altitude).toEqual({ value: 115978, unit: "meters" });
    expect(isPvlQuantity(altitude)).toBe(true);
    expect(pvlUnit(pvlGet(label, "IsisCube", "Code", "ExposureDuration"))).toBe("milliseconds");
    // Lines ISIS broke with a trailing '-', inside a sequence and in a plain value:
    expect(pvlGet(label, "IsisCube", "Kernels", "TargetAttitudeShape")).toEqual([
      "$base/kernels/pck/pck00009.tpc",
      "$base/kernels/pck/lunar_de403_1950-2199_pa.bpc",
      "$base/kernels/fk/lunarMeanEarth001.tf",
    ]);
    expect(pvlGet(label, "IsisCube", "Kernels", "ShapeModel")).toBe("$base/dems/ldem_128ppd_Mar2011_clon180_radius_pad.cub");
    expect(pvlGet(label, "IsisCube", "Instrument", "StartTime")).toBe("1971-07-31T01:25:02.243");
    expect(pvlGet(label, "Label", "Bytes")).toBe(65536);
    expect(pvlGet(label, "NaifKeywords", "INS-915240_OD_K")).toEqual([-1.3361854e-6, 5.2261757e-10, -5.0728336e-14]);
    // Five `Object = Table`: a repeated name holds all occurrences, in file order.
    const tables = pvlAll(label, "Table") as PvlObject[];
    expect(isRepeated(label.Table)).toBe(true);
    expect(tables.map((t) => t.Name)).toEqual([
      "InstrumentPointing", "InstrumentPosition", "BodyRotation", "SunPosition", "CameraStatistics",
    ]);
    expect(pvlAll(tables[0]!, "Field")).toHaveLength(8);
    expect(pvlKind(pvlBlock(label, "IsisCube", "Core"))).toBe("object");
    expect(pvlKind(pvlBlock(label, "IsisCube", "Core", "Dimensions"))).toBe("group");
    expect(pvlKind(label)).toBe("root");
    expect(() => pvlGet(label, "Table", "Name")).toThrow(/Table occurs 5 times: pick one with pvlAll\(\)/);
  });

  it("the second cube's label differs where it should", async () => {
    const [a, b] = await Promise.all([readCubeLabel(CUBE_0297), readCubeLabel(CUBE_0298)]);
    expect(pvlGet(b, "IsisCube", "Instrument", "TargetName")).toBe("MOON");
    expect(pvlGet(b, "IsisCube", "Core", "StartByte")).toBe(65537);
    expect(pvlGet(b, "IsisCube", "Instrument", "StartTime")).not.toEqual(pvlGet(a, "IsisCube", "Instrument", "StartTime"));
  });

  describe.skipIf(!HAVE_GDAL)(`equals GDAL's reading of the same labels (${HAVE_GDAL ? "gdalinfo" : NO_GDAL_REASON})`, () => {
    /** GDAL's json:ISIS3 metadata without its `_type` markers: the same shape as ours. */
    function gdalLabel(file: string): Record<string, unknown> {
      const info = JSON.parse(gdal("gdalinfo", ["-json", "-mdd", "json:ISIS3", file]));
      const strip = (v: unknown): unknown => {
        if (Array.isArray(v)) return v.map(strip);
        if (v && typeof v === "object") {
          return Object.fromEntries(Object.entries(v).filter(([k]) => k !== "_type").map(([k, x]) => [k, strip(x)]));
        }
        return v;
      };
      return strip(info.metadata["json:ISIS3"]) as Record<string, unknown>;
    }

    it.each([CUBE_0297, CUBE_0298])("%s: IsisCube, Label, History, NaifKeywords and Polygon are equal", async (file) => {
      const ours = await readCubeLabel(file);
      const theirs = gdalLabel(file);
      for (const name of ["IsisCube", "Label", "History", "NaifKeywords", "Polygon"]) {
        expect(JSON.parse(JSON.stringify(ours[name])), name).toEqual(theirs[name]);
      }
      // GDAL names repeated tables Table_<Name>; the keywords outside the Field groups must match.
      for (const table of pvlAll(ours, "Table") as PvlObject[]) {
        const g = theirs[`Table_${table.Name}`] as Record<string, unknown>;
        for (const [k, v] of Object.entries(table)) if (k !== "Field") expect(v, `Table ${table.Name} ${k}`).toEqual(g[k]);
      }
    });
  });
});

describe("PVL syntax", () => {
  it("units, quotes (both kinds, multi-line), sequences, nested sequences, sets, comments, numbers", () => {
    const label = parsePvl(
      [
        "/* a block comment",
        "   over two lines */",
        "# a hash comment",
        "Group = Mapping   // a line comment after a statement",
        "  EquatorialRadius = 1737400.0 <meters>",
        "  Scale = 10 <pixels/degree> /* trailing comment */",
        "  Corners = (1 <m>, 2.5e3 <m>) ",
        "  Range = (-90, 90) <degrees>",
        "  Nested = ((1, 2), (3, (4, 5)), ())",
        "  Flags = {A, 'b c', 3}",
        '  Title = "Modifies',
        '           cube labels"',
        "  Hex = 16#FF7FFFFB#",
        "  Bin = -2#1010#",
        "  Big = 123456789012345678901234567890",
        "  Exp = -1.5E-3",
        "  Plain = 1971-07-31T01:25:02.243",
        "  Empty = \"\"",
        "  Unit2 = 5",
        "          <km>",
        "End_Group",
        "End",
        "anything after End is not read: \0\0\0 ( ",
      ].join("\n"),
    );
    const m = label.Mapping as PvlObject;
    expect(m.EquatorialRadius).toEqual({ value: 1737400, unit: "meters" });
    expect(m.Scale).toEqual({ value: 10, unit: "pixels/degree" });
    expect(m.Corners).toEqual([{ value: 1, unit: "m" }, { value: 2500, unit: "m" }]);
    expect(m.Range).toEqual({ value: [-90, 90], unit: "degrees" });
    expect(m.Nested).toEqual([[1, 2], [3, [4, 5]], []]);
    expect(m.Flags).toEqual(["A", "b c", 3]);
    expect(isPvlSet(m.Flags)).toBe(true);
    expect(isPvlSet(m.Nested)).toBe(false);
    expect(m.Title).toBe("Modifies cube labels");
    expect(m.Hex).toBe(0xff7ffffb);
    expect(m.Bin).toBe(-10);
    expect(m.Big).toBe("123456789012345678901234567890"); // kept as text: a number would lose digits
    expect(m.Exp).toBe(-0.0015);
    expect(m.Plain).toBe("1971-07-31T01:25:02.243");
    expect(m.Empty).toBe("");
    expect(m.Unit2).toEqual({ value: 5, unit: "km" });
    expect(Object.keys(label)).toEqual(["Mapping"]);
  });

  it("a single-quoted string ends at the next single quote (PVL has no escapes)", () => {
    expect(() => parsePvl("A = 'it''s'\n")).toThrow(PvlError);
    expect(parsePvl("A = 'say \"hi\"'\n").A).toBe('say "hi"');
  });

  it("continuations: a trailing '-' joins the next line without its indentation; quoted lines join with one space", () => {
    const label = parsePvl(
      [
        "Object = IsisCube",
        "  Path = $base/kernels/spk/de4-   ",
        "         05.bsp",
        "  List = (aaa, bb-",
        "           b, -",
        "           5)",
        '  Long = "abcdefghij-',
        '          klmnop and',
        '          more"',
        "  Url = http://host/x?a=1",
        "End_Object = ISISCUBE",
        "End",
      ].join("\n"),
    );
    expect(pvlGet(label, "IsisCube", "Path")).toBe("$base/kernels/spk/de405.bsp");
    // As in ISIS, the '-' of "b, -" is the continuation mark, not a sign.
    expect(pvlGet(label, "IsisCube", "List")).toEqual(["aaa", "bbb", 5]);
    expect(pvlGet(label, "IsisCube", "Long")).toBe("abcdefghijklmnop and more");
    expect(pvlGet(label, "IsisCube", "Url")).toBe("http://host/x?a=1");
  });

  it("repeated names (any case) collect every occurrence; a sequence value is not mistaken for repeats", () => {
    const label = parsePvl("Group = Field\n Name = a\nEnd_Group\nGROUP = field\n Name = b\nEnd_Group\nK = (1, 2)\nk = 3\nS = (1, 2)\n");
    expect(Object.keys(label)).toEqual(["Field", "K", "S"]);
    expect(pvlAll(label, "FIELD").map((f) => (f as PvlObject).Name)).toEqual(["a", "b"]);
    expect(label.K).toEqual([[1, 2], 3]);
    expect(isRepeated(label.K)).toBe(true);
    expect(isRepeated(label.S)).toBe(false);
    expect(pvlAll(label, "S")).toEqual([[1, 2]]);
    expect(pvlScalar(pvlGet(label, "missing"))).toBeUndefined();
  });

  it("Windows line ends (CRLF) and a UTF-8 byte order mark read like LF", async () => {
    const text = 'Object = IsisCube\r\n  Path = abc-\r\n         def\r\n  Title = "two\r\n   lines"\r\n  R = 5 <m>\r\nEnd_Object\r\nEnd\r\n';
    expect(parsePvl(text)).toEqual({ IsisCube: { Path: "abcdef", Title: "two lines", R: { value: 5, unit: "m" } } });
    const file = path.join(tmp.dir, "crlf-bom.lbl");
    fs.writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text), Buffer.alloc(100)]));
    expect(await readCubeLabel(file)).toEqual(parsePvl(text));
  });

  it("begin_object/begin_group aliases and a label without End (detached labels may omit it)", () => {
    const label = parsePvl("BEGIN_OBJECT = A\n  begin_group = B\n    X = 1\n  end_group\nend_object\n");
    expect(pvlGet(label, "A", "B", "X")).toBe(1);
    expect(isPvlBlock(pvlGet(label, "A"))).toBe(true);
  });

  it("names that are Object.prototype members are plain keywords and do not touch the prototype", () => {
    const label = parsePvl("__proto__ = 1\nconstructor = x\ntoString = (1)\n");
    expect(Object.getPrototypeOf(label)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(label, "__proto__")).toBe(true);
    expect(pvlGet(label, "__proto__")).toBe(1);
    expect(pvlGet(label, "constructor")).toBe("x");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("PVL errors name the line and what was expected", () => {
  it.each<[string, string, number, RegExp]>([
    ["unterminated object", "Object = IsisCube\n  Group = Core\n    A = 1\n  End_Group\n", 5, /Object 'IsisCube' opened on line 1 is not closed: expected End_Object/],
    ["End inside an object", "Object = A\n  X = 1\nEnd\n", 3, /'End' while Object 'A' \(opened on line 1\) is still open: expected End_Object first/],
    ["End_Group closing an Object", "Object = A\nEnd_Group\n", 2, /End_Group cannot close Object 'A' \(opened on line 1\): expected End_Object/],
    ["End_Object naming another object", "Object = A\nEnd_Object = B\n", 2, /End_Object = B closes Object 'A'.*the names differ/],
    ["End_Object with nothing open", "X = 1\nEnd_Object\n", 2, /End_Object without an open Object/],
    ["continuation into a new keyword", "A = abc-\nB = 2\n", 1, /'abc-' ends with '-'.*line 2 starts a new statement \('B'\): remove the '-' or quote the value/],
    ["continuation into End_Object", "Object = O\n A = abc-\nEnd_Object\n", 2, /line 3 starts a new statement \('End_Object'\)/],
    ["continuation onto an empty line", "A = abc-\n\nB = 1\n", 1, /continues it on the next line, and line 2 is empty/],
    ["continuation at the end of the label", "A = abc-", 1, /continues it on the next line, but the label ends/],
    ["unclosed string", 'A = "abc\nB = 2\n', 1, /the string for keyword 'A' opened with " on line 1 is not closed/],
    ["unclosed sequence", "A = (1, 2\nB = 3\n", 2, /expected ',' or '\)' after element 2 in '\(' opened on line 1 for keyword 'A', found 'B = 3'/],
    ["sequence closed by a brace", "A = (1, 2}\n", 1, /closed with '}' instead of '\)'/],
    ["trailing comma", "A = (1, 2, )\n", 1, /a ',' before '\)' leaves an empty element/],
    ["missing '='", "Object = A\n  Orphan\n  X = 1\nEnd_Object\n", 2, /expected '=' after 'Orphan', found 'X = 1'/],
    ["two keywords on one line", "A = 1 B = 2\n", 1, /unexpected 'B = 2' after the value of 'A': one keyword per line; quote values that contain spaces/],
    ["unquoted value with spaces", "Description = Modifies cube labels\n", 1, /unexpected 'cube labels' after the value of 'Description'/],
    ["missing value", "A =\n", 2, /expected a value for keyword 'A', but the label ends/],
    ["unit without '>'", "A = 1 <meters\n", 1, /the unit '<' of keyword 'A' is not closed with '>' on the same line/],
    ["bad radix digit", "A = 8#19#\n", 1, /invalid number for keyword 'A': digit '9' in '8#19#' is not a base-8 digit/],
    ["unclosed comment", "A = 1\n/* never closed\n", 2, /a comment opened with \/\* is not closed with \*\//],
    ["binary data before End", "A = 1\n\0\0\0", 2, /binary data \(a NUL byte\) before the label's End/],
    ["an object named by a sequence", "Object = (a, b)\nEnd_Object\n", 1, /expected a plain name for the Object/],
  ])("%s", (_what, text, line, message) => {
    const e = pvlError(() => parsePvl(text));
    expect(e.message).toMatch(message);
    expect(e.line).toBe(line);
    expect(e.message.startsWith(`PVL line ${line}: `)).toBe(true);
  });

  it("empty input, only comments, or only End: the label is empty", () => {
    for (const text of ["", "   \n\n", "/* nothing */\n# nothing\n", "End\n"]) {
      expect(pvlError(() => parsePvl(text)).message).toMatch(/the label is empty/);
    }
  });

  it("deep nesting is refused at the limit, fast, without a stack overflow", () => {
    const t0 = Date.now();
    const objects = "Object = A\n".repeat(200_000);
    expect(pvlError(() => parsePvl(objects)).message).toMatch(/Objects and Groups are nested deeper than 64 levels/);
    const sequences = `A = ${"(".repeat(200_000)}`;
    expect(pvlError(() => parsePvl(sequences)).message).toMatch(/sequences in element 1 of keyword 'A' are nested deeper than 64 levels/);
    expect(pvlError(() => parsePvl("Group = G\n".repeat(10), { maxDepth: 5 })).message).toMatch(/deeper than 5 levels/);
    expect(parsePvl(`${"Group = G\n".repeat(64)}${"End_Group\n".repeat(64)}`)).toBeDefined();
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("inputs built to be slow parse in linear time (long strings, long space runs, many lines, many repeats)", () => {
    const t0 = Date.now();
    const spaces = " ".repeat(2_000_000);
    expect(parsePvl(`A = "x${spaces}y"\n`).A).toBe(`x${spaces}y`);
    const manyLines = `A = "${"word \n".repeat(200_000)}"\n`;
    expect((parsePvl(manyLines).A as string).length).toBe(200_000 * 5);
    const repeats = "K = 1\n".repeat(200_000);
    expect((parsePvl(repeats).K as PvlEntry[]).length).toBe(200_000);
    expect(pvlError(() => parsePvl(`A = "${spaces}`)).message).toMatch(/not closed/);
    expect(pvlError(() => parsePvl(`A = 1 <${spaces}`)).message).toMatch(/not closed with '>'/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it("a file that is not UTF-8: the byte, its offset and line", async () => {
    const file = path.join(tmp.dir, "latin1.lbl");
    fs.writeFileSync(file, Buffer.concat([Buffer.from("Object = IsisCube\n  Name = \"caf"), Buffer.from([0xe9]), Buffer.from("\"\nEnd_Object\nEnd\n")]));
    const e = await pvlErrorAsync(readCubeLabel(file));
    expect(e.message).toBe(
      `${file}: PVL line 2: byte 0xE9 at offset 31 is not UTF-8 text: not a PVL label, or one in another encoding (re-save it as ASCII/UTF-8)`,
    );
  });

  it("errors from readCubeLabel name the file", async () => {
    const file = path.join(tmp.dir, "broken.lbl");
    fs.writeFileSync(file, "Object = IsisCube\n  A = (1, 2\nEnd_Object\nEnd\n");
    const e = await pvlErrorAsync(readCubeLabel(file));
    expect(e.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: PVL line 3: expected ',' or '\\)'`));
    expect(e.source).toBe(file);
    const missing = await pvlErrorAsync(readCubeLabel(path.join(tmp.dir, "nope.cub")));
    expect(missing.message).toMatch(/nope\.cub: cannot open the label: ENOENT/);
    const empty = path.join(tmp.dir, "empty.cub");
    fs.writeFileSync(empty, "");
    expect((await pvlErrorAsync(readCubeLabel(empty))).message).toMatch(/empty\.cub: PVL line 1: the label is empty/);
  });
});

describe("readCubeLabel reads the label, not the cube", () => {
  /** A LabelSource over a real file that counts the bytes asked for. */
  async function countingSource(file: string): Promise<LabelSource & { bytesRead: number; close(): Promise<void> }> {
    const fh = await fs.promises.open(file, "r");
    const { size } = await fh.stat();
    const src = {
      size,
      bytesRead: 0,
      async read(position: number, length: number) {
        const buf = new Uint8Array(length);
        const { bytesRead } = await fh.read(buf, 0, length, position);
        src.bytesRead += bytesRead;
        return buf.subarray(0, bytesRead);
      },
      close: () => fh.close(),
    };
    return src;
  }

  it("a 4 GiB (sparse) cube: one 64 KiB read", async () => {
    const file = path.join(tmp.dir, "huge.cub");
    const label = fs.readFileSync(CUBE_0297).subarray(0, 65536);
    fs.writeFileSync(file, label);
    fs.truncateSync(file, 4 * 1024 ** 3); // sparse: costs no disk
    const src = await countingSource(file);
    try {
      const parsed = await readCubeLabel(file, { source: src });
      expect(pvlGet(parsed, "IsisCube", "Instrument", "TargetName")).toBe("MOON");
      expect(src.bytesRead).toBe(65536);
    } finally {
      await src.close();
    }
  });

  it("a label that spans several chunks is read chunk by chunk up to its End line", async () => {
    const file = path.join(tmp.dir, "long-label.cub");
    const body = `Object = IsisCube\n${"  Keyword = 123456789\n".repeat(10_000)}End_Object\nEnd\n`;
    fs.writeFileSync(file, Buffer.concat([Buffer.from(body), Buffer.alloc(1_000_000)]));
    const src = await countingSource(file);
    try {
      const parsed = await readCubeLabel(file, { source: src });
      expect(pvlAll(parsed.IsisCube as PvlObject, "Keyword")).toHaveLength(10_000);
      expect(src.bytesRead).toBeLessThan(body.length + 64 * 1024);
    } finally {
      await src.close();
    }
  });

  it("a huge file of zeros, a GeoTIFF, or text without End: refused after reading at most maxLabelBytes", async () => {
    const zeros = path.join(tmp.dir, "zeros.cub");
    fs.writeFileSync(zeros, "");
    fs.truncateSync(zeros, 2 * 1024 ** 3);
    const src = await countingSource(zeros);
    try {
      const e = await pvlErrorAsync(readCubeLabel(zeros, { source: src }));
      expect(e.message).toMatch(/zeros\.cub: does not start with PVL text \(binary data from byte 0; first bytes: 00 00 00/);
      expect(src.bytesRead).toBe(65536);
    } finally {
      await src.close();
    }
    const tif = path.join(tmp.dir, "image.tif");
    fs.writeFileSync(tif, Buffer.from([0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00]));
    expect((await pvlErrorAsync(readCubeLabel(tif))).message).toMatch(/image\.tif: does not start with PVL text .*first bytes: 49 49 2a 00/);
    const text = path.join(tmp.dir, "endless.lbl");
    fs.writeFileSync(text, "A = 1\n".repeat(400_000));
    expect((await pvlErrorAsync(readCubeLabel(text, { maxLabelBytes: 1024 * 1024 }))).message).toMatch(
      /endless\.lbl: no 'End' line within the first 1048576 bytes: not an ISIS label, or a label larger than maxLabelBytes/,
    );
  });

  it("a detached label (text file with ^Core) is read to its end", async () => {
    const file = path.join(tmp.dir, "detached.lbl");
    fs.writeFileSync(file, "Object = IsisCube\n  Object = Core\n    ^Core = detached.cub\n    StartByte = 1\n  End_Object\nEnd_Object\n");
    const label = await readCubeLabel(file);
    expect(pvlGet(label, "IsisCube", "Core", "^Core")).toBe("detached.cub");
  });
});
