import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as protobuf from "protobufjs";
import { afterAll, describe, expect, it, vi } from "vitest";
import {
  ControlNetError,
  decodeControlNetwork,
  encodeControlNetwork,
  fromIsisSampleLine,
  readControlNetwork,
  readImageList,
  toIsisSampleLine,
  validateControlNetwork,
  writeControlNetwork,
  writeImageList,
  type ControlNetwork,
} from "../src/controlnet";
import { findProtoDir, protoDirCandidates, PROTO_FILES } from "../src/controlnet/proto";

const FIXTURES = path.join(__dirname, "fixtures", "controlnet");
const PROTO_DIR = path.join(__dirname, "..", "src", "controlnet", "proto");
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "autocnet-controlnet-"));
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));
let tmpCounter = 0;
const tmpFile = (name: string) => path.join(TMP, `${tmpCounter++}-${name}`);

// ---------------------------------------------------------------------------------------------------
// Independent decoding: protobufjs straight from the .proto files (strings as strings), no code of ours.

const indep = new protobuf.Root().loadSync(PROTO_FILES.map((f) => path.join(PROTO_DIR, f)), { keepCase: true });
const H2 = indep.lookupType("Isis.ControlNetFileHeaderV0002");
const P2 = indep.lookupType("Isis.ControlPointFileEntryV0002");
const H5 = indep.lookupType("Isis.ControlNetFileHeaderV0005");
const P5 = indep.lookupType("Isis.ControlPointFileEntryV0005");
const plain = (t: protobuf.Type, m: protobuf.Message) => t.toObject(m, { enums: String, longs: Number, defaults: false, arrays: false });

interface RawFile {
  label: string;
  labelEnd: number;
  numbers: Record<string, number>;
  header: Record<string, unknown>;
  points: Record<string, unknown>[];
  /** Byte ranges of each point message (v2) or of each size prefix + message (v5). */
  pointRanges: [number, number][];
}

function labelNumber(label: string, name: string): number {
  const m = label.match(new RegExp(`^ *${name} *= (\\d+)$`, "m"));
  if (!m) throw new Error(`no ${name} in label`);
  return Number(m[1]);
}

function rawDecode(bytes: Buffer): RawFile {
  const labelEnd = bytes.indexOf(0);
  const label = bytes.subarray(0, labelEnd).toString("utf8");
  const numbers: Record<string, number> = {};
  for (const k of ["HeaderStartByte", "HeaderBytes", "PointsStartByte", "PointsBytes", "NumberOfPoints", "NumberOfMeasures", "Version"]) {
    numbers[k] = labelNumber(label, k);
  }
  const { HeaderStartByte: hs, HeaderBytes: hb, PointsStartByte: ps, PointsBytes: pb, Version: version } = numbers;
  const points: Record<string, unknown>[] = [];
  const pointRanges: [number, number][] = [];
  let header: Record<string, unknown>;
  if (version === 2) {
    header = plain(H2, H2.decode(bytes.subarray(hs, hs + hb)));
    let off = ps;
    for (const size of (header.pointMessageSizes as number[]) ?? []) {
      points.push(plain(P2, P2.decode(bytes.subarray(off, off + size))));
      pointRanges.push([off, off + size]);
      off += size;
    }
  } else {
    header = plain(H5, H5.decode(bytes.subarray(hs, hs + hb)));
    let off = ps;
    while (off < ps + pb) {
      const size = bytes.readUInt32LE(off);
      points.push(plain(P5, P5.decode(bytes.subarray(off + 4, off + 4 + size))));
      pointRanges.push([off, off + 4 + size]);
      off += 4 + size;
    }
  }
  return { label, labelEnd, numbers, header, points, pointRanges };
}

/** Field numbers and wire types of a message's top-level fields, in order. */
function wireFields(bytes: Uint8Array): [number, number][] {
  const r = protobuf.Reader.create(bytes);
  const out: [number, number][] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    out.push([tag >>> 3, tag & 7]);
    r.skipType(tag & 7);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// A network using every field, with awkward values.

const ISIS_NULL = -1.7976931348623149e308; // ISIS's Null special value: a finite double, kept as is

function richNetwork(): ControlNetwork {
  return {
    networkId: "autocnet-ts test",
    targetName: "Mars",
    userName: "jdoe",
    created: "2024-05-01T12:00:00",
    lastModified: "2024-05-02T08:30:00",
    description: "Synthetic network: ünïcödé ✓ 日本語 𝄞, (parentheses) = fine, and a long tail so that ISIS wraps it",
    points: [
      {
        id: "P001",
        type: "constrained",
        ignore: false,
        editLock: true,
        jigsawRejected: false,
        chooserName: "autocnet",
        datetime: "2024-05-01T12:00:00",
        referenceIndex: 1,
        aprioriSurfacePointSource: "basemap",
        aprioriSurfacePointSourceFile: "/data/base map.cub",
        aprioriRadiusSource: "dem",
        aprioriRadiusSourceFile: "/data/dem.cub",
        latitudeConstrained: true,
        longitudeConstrained: true,
        radiusConstrained: false,
        aprioriSurfacePoint: { x: 1234567.125, y: -2345678.5, z: 3e-310, covariance: [100, -0, 1e-300, 100.5, 0.5, Number.MAX_VALUE] },
        adjustedSurfacePoint: { x: -0, y: 1 / 3, z: ISIS_NULL, covariance: [0, 0, 0, 0, 0, 0] },
        measures: [
          {
            serialNumber: "MRO/CTX/1234567890:123",
            type: "registeredSubPixel",
            sample: 1,
            line: 1,
            ignore: true,
            editLock: false,
            jigsawRejected: true,
            aprioriSample: 0.5,
            aprioriLine: 5000.5,
            sampleSigma: 0.25,
            lineSigma: 0.125,
            diameter: 0,
            sampleResidual: -0.0625,
            lineResidual: 1e-12,
            chooserName: "",
            datetime: "2024-05-01T12:00:01",
            logData: [
              { dataType: "GoodnessOfFit", value: 0.987 },
              { dataType: "MinimumPixelZScore", value: -2.5 },
              { dataType: "MaximumPixelZScore", value: 3.25 },
              { dataType: "Obsolete_AverageResidual", value: 5e-324 },
            ],
          },
          { serialNumber: "MRO/CTX/1234567891:000", type: "manual", sample: 5000.25, line: -0, ignore: false, logData: [] },
        ],
      },
      {
        id: "P002 ünï 日本",
        type: "free",
        measures: [
          { serialNumber: "A", type: "candidate", sample: 10, line: 20 },
          { serialNumber: "B", type: "registeredPixel", sample: 1e15, line: -1e-15 },
        ],
      },
      {
        id: "P003",
        type: "fixed",
        referenceIndex: 0,
        aprioriSurfacePoint: { x: 1, y: 2, z: 3 },
        measures: [{ serialNumber: "C", type: "registeredPixel", sample: 2.5, line: 3.5 }],
      },
    ],
  };
}

function minimalNetwork(): ControlNetwork {
  return {
    networkId: "net",
    targetName: "Moon",
    points: [{ id: "p1", type: "free", measures: [{ serialNumber: "s1", type: "candidate", sample: 1, line: 2 }] }],
  };
}

// ---------------------------------------------------------------------------------------------------

describe("pixel convention", () => {
  it("ISIS sample/line are our x/y + 1: the centre of the first pixel is (0, 0) here, (1.0, 1.0) in ISIS", () => {
    expect(toIsisSampleLine(0, 0)).toEqual({ sample: 1, line: 1 });
    expect(toIsisSampleLine(9, 4)).toEqual({ sample: 10, line: 5 });
    // the upper-left corner of the first pixel: (−0.5, −0.5) here, (0.5, 0.5) in ISIS
    expect(toIsisSampleLine(-0.5, -0.5)).toEqual({ sample: 0.5, line: 0.5 });
    expect(fromIsisSampleLine(1, 1)).toEqual({ x: 0, y: 0 });
    expect(fromIsisSampleLine(194.96771550832915, 1555.8966043729747)).toEqual({ x: 193.96771550832915, y: 1554.8966043729747 });
    for (const [x, y] of [[0, 0], [12.25, 7.75], [4095.5, 0.125]]) {
      const { sample, line } = toIsisSampleLine(x, y);
      expect(fromIsisSampleLine(sample, line)).toEqual({ x, y });
    }
  });
});

describe("the .proto files", () => {
  it("are ISIS's files unchanged (git blob hashes listed in proto/README.md)", () => {
    const readme = fs.readFileSync(path.join(PROTO_DIR, "README.md"), "utf8");
    for (const f of PROTO_FILES) {
      const content = fs.readFileSync(path.join(PROTO_DIR, f));
      const blob = createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
      expect(readme).toContain(`| \`${f}\` | \`${blob}\` |`);
    }
  });

  it("are found next to the module (src/ or a dist/ the build copied them to), else from dist/ in src/controlnet/proto", () => {
    const root = path.join(__dirname, "..");
    expect(findProtoDir(path.join(root, "src", "controlnet"))).toBe(path.join(root, "src", "controlnet", "proto"));
    // A checkout layout in a scratch directory: dist/controlnet/ without its own copy falls back to src/.
    const checkout = path.join(TMP, "checkout");
    const srcProto = path.join(checkout, "src", "controlnet", "proto");
    const distModule = path.join(checkout, "dist", "controlnet");
    fs.mkdirSync(srcProto, { recursive: true });
    fs.mkdirSync(distModule, { recursive: true });
    for (const f of PROTO_FILES) fs.copyFileSync(path.join(PROTO_DIR, f), path.join(srcProto, f));
    expect(protoDirCandidates(distModule)).toEqual([path.join(distModule, "proto"), srcProto]);
    expect(findProtoDir(distModule)).toBe(srcProto);
    fs.mkdirSync(path.join(distModule, "proto"));
    for (const f of PROTO_FILES) fs.copyFileSync(path.join(PROTO_DIR, f), path.join(distModule, "proto", f));
    expect(findProtoDir(distModule)).toBe(path.join(distModule, "proto"));
    fs.rmSync(srcProto, { recursive: true });
    fs.rmSync(path.join(distModule, "proto", PROTO_FILES[1]));
    expect(() => findProtoDir(distModule)).toThrow(/\.proto files not found.*dist\/controlnet\/proto/s);
  });
});

describe("writing and reading back", () => {
  it.each([2, 5] as const)("version %i: a network with every field and awkward values reads back deep-equal", async (version) => {
    const file = tmpFile(`rich-v${version}.net`);
    const net = richNetwork();
    await writeControlNetwork(file, net, { version });
    const back = await readControlNetwork(file);
    // logData: [] is not representable (no entries = no field) and reads back absent.
    const expected = richNetwork();
    delete expected.points[0].measures[1].logData;
    expect(back).toStrictEqual(expected);
    expect(Object.is(back.points[0].measures[1].line, -0)).toBe(true);
    expect(Object.is(back.points[0].adjustedSurfacePoint!.x, -0)).toBe(true);
    expect(back.points[0].measures[0].logData![3].value).toBe(5e-324);
    expect(fs.readdirSync(TMP).filter((f) => f.endsWith(".tmp"))).toEqual([]); // no temp file left behind
  });

  it("a minimal network reads back with no extra fields, and an empty network is a valid network", async () => {
    for (const version of [2, 5] as const) {
      const file = tmpFile(`min-v${version}.net`);
      await writeControlNetwork(file, minimalNetwork(), { version });
      expect(await readControlNetwork(file)).toStrictEqual(minimalNetwork());
      const empty = { networkId: "empty", targetName: "Mars", points: [] };
      await writeControlNetwork(file, empty, { version });
      expect(await readControlNetwork(file)).toStrictEqual(empty);
      expect(fs.statSync(file).size).toBe(65536 + rawDecode(fs.readFileSync(file)).numbers.HeaderBytes);
    }
  });

  it("replaces an existing file atomically and leaves it untouched when the network is invalid", async () => {
    const file = tmpFile("replace.net");
    await writeControlNetwork(file, minimalNetwork());
    const before = fs.readFileSync(file);
    const bad = minimalNetwork();
    bad.points[0].measures[0].sample = Number.NaN;
    await expect(writeControlNetwork(file, bad)).rejects.toThrow(ControlNetError);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    await writeControlNetwork(file, richNetwork());
    expect((await readControlNetwork(file)).points).toHaveLength(3);
    await expect(writeControlNetwork(path.join(TMP, "no-such-dir", "x.net"), minimalNetwork())).rejects.toThrow(/no-such-dir.*does not exist/);
  });
});

describe("the bytes, decoded independently with protobufjs from the .proto files", () => {
  it("version 2: label, zero padding, header with packed pointMessageSizes, points back to back — field by field", () => {
    const bytes = Buffer.from(encodeControlNetwork(richNetwork()));
    const raw = rawDecode(bytes);
    const n = raw.numbers;
    // The label's numbers agree with the byte layout.
    expect(n.Version).toBe(2);
    expect(n.HeaderStartByte).toBe(65536);
    expect(raw.labelEnd).toBeLessThan(65536);
    expect(bytes.subarray(raw.labelEnd, 65536).every((b) => b === 0)).toBe(true);
    expect(n.PointsStartByte).toBe(n.HeaderStartByte + n.HeaderBytes);
    expect(n.PointsStartByte + n.PointsBytes).toBe(bytes.length);
    expect(raw.header.pointMessageSizes).toEqual(raw.pointRanges.map(([a, b]) => b - a));
    expect((raw.header.pointMessageSizes as number[]).reduce((a, b) => a + b, 0)).toBe(n.PointsBytes);
    expect(n.NumberOfPoints).toBe(3);
    expect(n.NumberOfMeasures).toBe(5);
    // pointMessageSizes is packed: field 7 appears once, length-delimited.
    const headerBytes = bytes.subarray(n.HeaderStartByte, n.PointsStartByte);
    expect(wireFields(headerBytes)).toEqual([[1, 2], [2, 2], [3, 2], [4, 2], [5, 2], [6, 2], [7, 2]]);
    const { pointMessageSizes, ...header } = raw.header;
    void pointMessageSizes;
    expect(header).toEqual({
      networkId: "autocnet-ts test",
      targetName: "Mars",
      created: "2024-05-01T12:00:00",
      lastModified: "2024-05-02T08:30:00",
      description: "Synthetic network: ünïcödé ✓ 日本語 𝄞, (parentheses) = fine, and a long tail so that ISIS wraps it",
      userName: "jdoe",
    });
    // Point 0: every field, as ISIS names and numbers them.
    expect(raw.points[0]).toStrictEqual({
      id: "P001",
      type: "Constrained",
      chooserName: "autocnet",
      datetime: "2024-05-01T12:00:00",
      editLock: true,
      ignore: false,
      jigsawRejected: false,
      referenceIndex: 1,
      aprioriSurfPointSource: "Basemap",
      aprioriSurfPointSourceFile: "/data/base map.cub",
      aprioriRadiusSource: "DEM",
      aprioriRadiusSourceFile: "/data/dem.cub",
      latitudeConstrained: true,
      longitudeConstrained: true,
      radiusConstrained: false,
      aprioriX: 1234567.125,
      aprioriY: -2345678.5,
      aprioriZ: 3e-310,
      aprioriCovar: [100, -0, 1e-300, 100.5, 0.5, Number.MAX_VALUE],
      adjustedX: -0,
      adjustedY: 1 / 3,
      adjustedZ: ISIS_NULL,
      adjustedCovar: [0, 0, 0, 0, 0, 0],
      measures: [
        {
          serialnumber: "MRO/CTX/1234567890:123",
          type: "RegisteredSubPixel",
          sample: 1,
          line: 1,
          sampleResidual: -0.0625,
          lineResidual: 1e-12,
          choosername: "",
          datetime: "2024-05-01T12:00:01",
          editLock: false,
          ignore: true,
          jigsawRejected: true,
          diameter: 0,
          apriorisample: 0.5,
          aprioriline: 5000.5,
          samplesigma: 0.25,
          linesigma: 0.125,
          log: [
            { doubleDataType: 2, doubleDataValue: 0.987 },
            { doubleDataType: 3, doubleDataValue: -2.5 },
            { doubleDataType: 4, doubleDataValue: 3.25 },
            { doubleDataType: 8, doubleDataValue: 5e-324 },
          ],
        },
        { serialnumber: "MRO/CTX/1234567891:000", type: "Manual", sample: 5000.25, line: -0, ignore: false },
      ],
    });
    expect(raw.points[1]).toStrictEqual({
      id: "P002 ünï 日本",
      type: "Free",
      measures: [
        { serialnumber: "A", type: "Candidate", sample: 10, line: 20 },
        { serialnumber: "B", type: "RegisteredPixel", sample: 1e15, line: -1e-15 },
      ],
    });
    expect(raw.points[2]).toStrictEqual({
      id: "P003",
      type: "Fixed",
      referenceIndex: 0,
      aprioriX: 1,
      aprioriY: 2,
      aprioriZ: 3,
      measures: [{ serialnumber: "C", type: "RegisteredPixel", sample: 2.5, line: 3.5 }],
    });
    // Fields in field-number order, the covariances packed (one length-delimited field each).
    const p0 = bytes.subarray(...raw.pointRanges[0]);
    expect(wireFields(p0).map(([f]) => f)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 25, 25]);
    expect(wireFields(p0).filter(([f]) => f === 19 || f === 23)).toEqual([[19, 2], [23, 2]]);
  });

  it("version 5: header without sizes, each point preceded by its little-endian uint32 length", () => {
    const bytes = Buffer.from(encodeControlNetwork(richNetwork(), { version: 5 }));
    const raw = rawDecode(bytes);
    const n = raw.numbers;
    expect(n.Version).toBe(5);
    expect(n.PointsStartByte).toBe(65536 + n.HeaderBytes);
    expect(n.PointsStartByte + n.PointsBytes).toBe(bytes.length);
    expect(raw.pointRanges[0][0]).toBe(n.PointsStartByte);
    expect(raw.pointRanges.map(([a, b]) => b - a).reduce((a, b) => a + b, 0)).toBe(n.PointsBytes);
    expect(raw.header).toEqual({
      networkId: "autocnet-ts test",
      targetName: "Mars",
      created: "2024-05-01T12:00:00",
      lastModified: "2024-05-02T08:30:00",
      description: "Synthetic network: ünïcödé ✓ 日本語 𝄞, (parentheses) = fine, and a long tail so that ISIS wraps it",
      userName: "jdoe",
    });
    expect(raw.points.map((p) => p.id)).toEqual(["P001", "P002 ünï 日本", "P003"]);
    // The same point messages as version 2 (the V0005 point is field-identical to V0002).
    const v2 = Buffer.from(encodeControlNetwork(richNetwork(), { version: 2 }));
    const raw2 = rawDecode(v2);
    raw.pointRanges.forEach(([a, b], i) => {
      expect(bytes.readUInt32LE(a)).toBe(b - a - 4);
      expect(bytes.subarray(a + 4, b).equals(v2.subarray(...raw2.pointRanges[i]))).toBe(true);
    });
  });

  it("the label is ISIS's text: objects, alignment, quoting, wrapping at 80 columns, Null for empty values", () => {
    const bytes = Buffer.from(encodeControlNetwork(richNetwork()));
    const n = rawDecode(bytes).numbers;
    const label = bytes.subarray(0, bytes.indexOf(0)).toString("utf8");
    expect(label).toBe(
      [
        "Object = ProtoBuffer",
        "  Object = Core",
        "    HeaderStartByte = 65536",
        `    HeaderBytes     = ${n.HeaderBytes}`,
        `    PointsStartByte = ${65536 + n.HeaderBytes}`,
        `    PointsBytes     = ${n.PointsBytes}`,
        "  End_Object",
        "",
        "  # This group is for informational purposes only",
        "  Group = ControlNetworkInfo",
        '    NetworkId        = "autocnet-ts test"',
        "    TargetName       = Mars",
        "    UserName         = jdoe",
        "    Created          = 2024-05-01T12:00:00",
        "    LastModified     = 2024-05-02T08:30:00",
        '    Description      = "Synthetic network: ünïcödé ✓ 日本語 𝄞, (parentheses) =',
        '                        fine, and a long tail so that ISIS wraps it"',
        "    NumberOfPoints   = 3",
        "    NumberOfMeasures = 5",
        "    Version          = 2",
        "  End_Group",
        "End_Object",
        "End",
        "",
      ].join("\n"),
    );
    const empty = Buffer.from(encodeControlNetwork({ networkId: "x", targetName: "Mars", points: [] }));
    const emptyLabel = empty.subarray(0, empty.indexOf(0)).toString("utf8");
    expect(emptyLabel).toMatch(/^ {4}UserName {9}= Null$/m);
    expect(emptyLabel).toMatch(/^ {4}Description {6}= Null$/m);
    expect(emptyLabel).toMatch(/^ {4}PointsBytes {5}= 0$/m);
  });
});

describe("ISIS-written networks", () => {
  it("the fixtures are the files from the ISIS repository, unchanged (git blob hashes in their README)", () => {
    const readme = fs.readFileSync(path.join(FIXTURES, "README.md"), "utf8");
    for (const f of ["Alph_VIS.net", "themis_dayir_VO_arcadia_extract_hand.net", "plio_csm_test.net"]) {
      const content = fs.readFileSync(path.join(FIXTURES, f));
      const blob = createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
      expect(readme).toMatch(new RegExp(`^\\| \`${f.replace(/\./g, "\\.")}\` \\| .* \\| \`${blob}\` \\|`, "m"));
    }
  });

  it("reads a version 2 network ISIS wrote in 2012 and writes it back byte for byte", async () => {
    const file = path.join(FIXTURES, "Alph_VIS.net");
    const net = await readControlNetwork(file);
    expect(net).toMatchObject({
      networkId: "THM_IMG_NET",
      targetName: "Mars",
      userName: "lweller",
      created: "2012-06-27T12:44:43",
      lastModified: "2012-06-27T12:44:43",
      description: "Themis IR IMAGE NETWORK",
    });
    expect(net.points).toHaveLength(54);
    expect(net.points[0]).toStrictEqual({
      id: "MVA_2B2_01_03862S127E3536_UL",
      type: "free",
      chooserName: "cnetmerge",
      datetime: "2012-06-27T12:44:43",
      referenceIndex: 0,
      measures: [
        { serialNumber: "KAGUYA/MI-VIS/2008-08-20T18:20:57.148489", type: "candidate", sample: 75, line: 75, chooserName: "seedgrid", datetime: "2012-06-27T12:44:41" },
      ],
    });
    const original = fs.readFileSync(file);
    expect(Buffer.from(encodeControlNetwork(net, { version: 2 })).equals(original)).toBe(true);
  });

  it("reads a version 5 network ISIS wrote (jigsaw output) and writes it back byte for byte", async () => {
    const file = path.join(FIXTURES, "themis_dayir_VO_arcadia_extract_hand.net");
    const net = await readControlNetwork(file);
    expect(net.description).toBe("Combined network of THEMIS IR and Viking Orbiter images");
    expect(net.points).toHaveLength(25);
    expect(net.points.reduce((s, p) => s + p.measures.length, 0)).toBe(58);
    const p = net.points[0];
    expect(p).toMatchObject({
      id: "I01326009RDR_bndry_26_ARCA",
      type: "free",
      aprioriSurfacePointSource: "averageOfMeasures",
      aprioriRadiusSource: "averageOfMeasures",
      aprioriSurfacePoint: { x: 453307.9075968499, y: -2474309.5929645123, z: 2271369.5266806404 },
      adjustedSurfacePoint: {
        x: 453175.3805650696,
        y: -2474500.246292193,
        z: 2271188.046447304,
        covariance: [2137.5452855048893, 211.91769687466783, -195.5650458955138, 1016.1556068709538, 1064.7892195039226, 1199.0726132440263],
      },
    });
    expect(p.measures[0]).toStrictEqual({
      serialNumber: "Odyssey/THEMIS_IR/893644280.051",
      type: "registeredSubPixel",
      sample: 194.96771550832915,
      line: 1555.8966043729747,
      aprioriSample: 196.4805053240653,
      aprioriLine: 1557.3829013659176,
      sampleResidual: -0.07872992820927038,
      lineResidual: 0.1567386983143848,
      chooserName: "jigsaw",
      datetime: "2016-04-18T14:56:48",
      logData: [
        { dataType: "MinimumPixelZScore", value: -5.953899755720689 },
        { dataType: "MaximumPixelZScore", value: 6.133111705039747 },
        { dataType: "GoodnessOfFit", value: 0.917597730726804 },
      ],
    });
    const original = fs.readFileSync(file);
    // Includes the label's Description wrapped at 80 columns exactly as ISIS wrapped it.
    expect(Buffer.from(encodeControlNetwork(net, { version: 5 })).equals(original)).toBe(true);
  });

  it("reads a version 2 network written by Python (plio-style label: CRLF, unaligned, quoted dates; obsolete point type)", async () => {
    const file = path.join(FIXTURES, "plio_csm_test.net");
    const net = await readControlNetwork(file);
    expect(net).toMatchObject({ networkId: "None", targetName: "None", userName: "None", created: "2021-06-16 20:04:06", description: "None" });
    expect(net.points).toHaveLength(76);
    expect(net.points.reduce((s, p) => s + p.measures.length, 0)).toBe(184);
    expect(net.points[0]).toStrictEqual({
      id: "csm_fixed_001",
      type: "fixed", // stored as 1 (obsolete_Ground), which ISIS reads as Fixed
      referenceIndex: 0,
      aprioriSurfacePoint: { x: 993844.1702975688, y: -78217.23252011543, z: 78459.09572784495 },
      adjustedSurfacePoint: { x: 993844.1702975688, y: -78217.23252011543, z: 78459.09572784495 },
      measures: [
        { serialNumber: "TestCsmModel_PlatformIdentifier/TestCsmModelSensorIdentifier/20000101T120000.000000Z", type: "manual", sample: 128.5, line: 896.5 },
      ],
    });
    // Written back by us (ISIS's label, Fixed = 4) it reads back the same.
    expect(decodeControlNetwork(encodeControlNetwork(net))).toStrictEqual(net);
  });

  it("reads a version 5 file built here from the V0005 messages as ISIS lays it out", async () => {
    // Layout per ISIS ControlNetVersioner.cpp (commit 7ca57fa): write() puts the label at byte 0 and the
    // header at 65536; writeFirstPoint() writes each point as a uint32 length made little-endian
    // (EndianSwapper "LSB") then the message; readProtobufV0005() reads until PointsBytes are consumed.
    const header = H5.encode(
      H5.fromObject({ networkId: "built", targetName: "Moon", created: "2020-01-01T00:00:00", lastModified: "2020-01-02T00:00:00", description: "", userName: "tester", numPoints: 2 }),
    ).finish();
    const pointMsgs = [
      P5.fromObject({
        id: "obsolete-ground",
        type: 1, // obsolete_Ground: ISIS reads it as Fixed
        aprioriX: 10,
        aprioriY: 20,
        aprioriZ: 30,
        aprioriCovar: [1, 2, 3, 4, 5, 6],
        measures: [{ serialnumber: "S1", type: 3, sample: 100.5, line: 200.25, log: [{ doubleDataType: 2, doubleDataValue: 0.9 }, {}] }],
      }),
      P5.fromObject({ id: "tie", type: 0, ignore: true, measures: [{ serialnumber: "S2", type: 1, sample: 1, line: 1, editLock: true }] }),
    ].map((m) => P5.encode(m).finish());
    const pointsBytes = pointMsgs.reduce((s, m) => s + 4 + m.length, 0);
    const label =
      `Object = ProtoBuffer\n  Object = Core\n    HeaderStartByte = 65536\n    HeaderBytes     = ${header.length}\n` +
      `    PointsStartByte = ${65536 + header.length}\n    PointsBytes     = ${pointsBytes}\n  End_Object\n\n` +
      "  Group = ControlNetworkInfo\n    NetworkId        = built\n    NumberOfPoints   = 2\n    NumberOfMeasures = 2\n    Version          = 5\n  End_Group\nEnd_Object\nEnd\n";
    const parts: Buffer[] = [Buffer.alloc(65536), Buffer.from(header)];
    Buffer.from(label).copy(parts[0]);
    for (const m of pointMsgs) {
      const size = Buffer.alloc(4);
      size.writeUInt32LE(m.length);
      parts.push(size, Buffer.from(m));
    }
    const file = tmpFile("built-v5.net");
    fs.writeFileSync(file, Buffer.concat(parts));
    expect(await readControlNetwork(file)).toStrictEqual({
      networkId: "built",
      targetName: "Moon",
      userName: "tester",
      created: "2020-01-01T00:00:00",
      lastModified: "2020-01-02T00:00:00",
      points: [
        {
          id: "obsolete-ground",
          type: "fixed",
          aprioriSurfacePoint: { x: 10, y: 20, z: 30, covariance: [1, 2, 3, 4, 5, 6] },
          measures: [{ serialNumber: "S1", type: "registeredSubPixel", sample: 100.5, line: 200.25, logData: [{ dataType: "GoodnessOfFit", value: 0.9 }] }],
        },
        { id: "tie", type: "free", ignore: true, measures: [{ serialNumber: "S2", type: "manual", sample: 1, line: 1, editLock: true }] },
      ],
    });
  });
});

// ---------------------------------------------------------------------------------------------------

async function expectReadError(bytes: Uint8Array, pattern: RegExp, name = "bad.net"): Promise<string> {
  const file = tmpFile(name);
  fs.writeFileSync(file, bytes);
  const err = await readControlNetwork(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ControlNetError);
  const msg = (err as Error).message;
  expect(msg).toContain(file);
  expect(msg).toMatch(pattern);
  return msg;
}

/** The file with one label line's value replaced (the label area is zero-padded to 65536 bytes, so it may grow). */
function setLabel(bytes: Uint8Array, keyword: string, value: string): Buffer {
  const out = Buffer.from(bytes);
  const end = out.indexOf(0);
  const label = out.subarray(0, end).toString("utf8");
  const re = new RegExp(`^( *${keyword} *= ).*$`, "m");
  expect(label).toMatch(re);
  const patched = Buffer.from(label.replace(re, `$1${value}`), "utf8");
  out.fill(0, 0, Math.max(end, patched.length));
  patched.copy(out, 0);
  return out;
}

describe("hostile and broken files", () => {
  const good = Buffer.from(encodeControlNetwork(richNetwork()));
  const good5 = Buffer.from(encodeControlNetwork(richNetwork(), { version: 5 }));
  const raw = rawDecode(good);

  it("a truncated file, wherever it is cut", async () => {
    await expectReadError(Buffer.alloc(0), /the file is empty/);
    await expectReadError(good.subarray(0, 100), /PVL label is malformed|truncated/);
    await expectReadError(good.subarray(0, 30000), /truncated/);
    await expectReadError(good.subarray(0, 65536 + 10), /truncated/);
    await expectReadError(good.subarray(0, good.length - 1), /points end at byte \d+, but the file has only \d+ bytes: the file is truncated/);
    await expectReadError(good5.subarray(0, good5.length - 7), /truncated/);
  });

  it("sizes that disagree with the file or with each other", async () => {
    await expectReadError(Buffer.concat([good, Buffer.from([0, 0, 0])]), /3 bytes after the points/);
    const n = raw.numbers;
    await expectReadError(setLabel(good, "PointsBytes", String(n.PointsBytes - 1)), /1 bytes after the points/);
    await expectReadError(setLabel(setLabel(good, "PointsBytes", String(n.PointsBytes - 1)), "HeaderBytes", String(n.HeaderBytes + 1)), /PointsStartByte = \d+ is not right after the header/);
    await expectReadError(
      setLabel(setLabel(good, "PointsBytes", String(n.PointsBytes - 1)), "PointsStartByte", String(n.PointsStartByte + 1)),
      /PointsStartByte = \d+ is not right after the header \(HeaderStartByte \+ HeaderBytes = \d+\)/,
    );
    await expectReadError(setLabel(good, "NumberOfPoints", "4"), /NumberOfPoints = 4, but the file holds 3 points/);
    await expectReadError(setLabel(good, "NumberOfMeasures", "6"), /NumberOfMeasures = 6, but the file holds 5 measures/);
    // A v5 point whose length prefix runs past the points.
    const v5 = Buffer.from(good5);
    v5.writeUInt32LE(0xffffffff, rawDecode(good5).numbers.PointsStartByte);
    await expectReadError(v5, /point 0 at byte \d+ claims 4294967295 bytes, but only \d+ remain/);
  });

  it("a label claiming huge sizes fails fast, allocating no more than the file's size", async () => {
    const spy = vi.spyOn(Buffer, "alloc");
    try {
      await expectReadError(setLabel(good, "PointsBytes", "999999999999999"), /points end at byte 1\d{15}, but the file has only \d+ bytes/);
      await expectReadError(setLabel(good, "HeaderBytes", "99999999"), /header spans bytes 65536–100065535, but the file has only/);
      await expectReadError(setLabel(good, "HeaderStartByte", "999999999999999"), /header spans bytes 999999999999999–\d+, but the file has only/);
      await expectReadError(setLabel(good, "PointsBytes", "99999999999999999999"), /PointsBytes = "99999999999999999999" is not a byte count/);
      expect(spy.mock.calls.length).toBeGreaterThan(0);
      for (const call of spy.mock.calls) expect(call[0]).toBeLessThanOrEqual(good.length);
    } finally {
      spy.mockRestore();
    }
  });

  it("zero points: an empty network is fine, a label or header that promises points is not", async () => {
    const empty = Buffer.from(encodeControlNetwork({ networkId: "e", targetName: "Mars", points: [] }));
    expect(decodeControlNetwork(empty).points).toEqual([]);
    await expectReadError(setLabel(empty, "NumberOfPoints", "9"), /NumberOfPoints = 9, but the file holds 0 points/);
    // Version 2 header promising a point of 10 bytes where there are none.
    const h = H2.encode(H2.fromObject({ networkId: "e", targetName: "Mars", pointMessageSizes: [10] })).finish();
    const label = `Object = ProtoBuffer\n  Object = Core\n    HeaderStartByte = 65536\n    HeaderBytes = ${h.length}\n    PointsStartByte = ${65536 + h.length}\n    PointsBytes = 0\n  End_Object\n  Group = ControlNetworkInfo\n    Version = 2\n  End_Group\nEnd_Object\nEnd\n`;
    const bytes = Buffer.alloc(65536 + h.length);
    bytes.write(label);
    Buffer.from(h).copy(bytes, 65536);
    await expectReadError(bytes, /point sizes add up to more than the label's PointsBytes = 0/);
  });

  it("not a control network at all: another format, a cube, a PVL text network, an old or unknown version", async () => {
    await expectReadError(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]), /not an ISIS control network.*89 50 4e 47/);
    await expectReadError(Buffer.from("Object = IsisCube\n  Object = Core\n    StartByte = 65537\n  End_Object\nEnd_Object\nEnd\n"), /ISIS cube, not a control network/);
    await expectReadError(Buffer.from(fs.readFileSync(path.join(__dirname, "fixtures", "jobs.cjs"))), /not an ISIS control network/);
    await expectReadError(
      Buffer.from("Object = ControlNetwork\n  NetworkId = x\n  Version = 5\n  Object = ControlPoint\n    PointId = a\n  End_Object\nEnd_Object\nEnd\n"),
      /PVL \(text\) control network.*cnetpvl2bin/,
    );
    await expectReadError(setLabel(good, "Version", "1"), /version 1 binary control network.*upgrade/);
    await expectReadError(setLabel(good, "Version", "7"), /version 7 is not supported/);
    await expectReadError(setLabel(good, "HeaderStartByte", "6553x"), /HeaderStartByte = "6553x" is not a byte count/);
    await expectReadError(Buffer.from(good.toString("latin1").replace("End_Group", "End_Grouq"), "latin1"), /PVL label is malformed/);
    await expect(readControlNetwork(path.join(TMP, "missing.net"))).rejects.toThrow(/missing\.net: cannot open the control network: no such file/);
  });

  it("strings that are not UTF-8 are named, and can be read as ISIS's Latin-1 on request", async () => {
    const net = minimalNetwork();
    net.points[0].id = "AxB";
    net.points[0].measures[0].chooserName = "qxq";
    const bytes = Buffer.from(encodeControlNetwork(net));
    const at = bytes.indexOf("AxB", 65536);
    bytes[at + 1] = 0xe9; // Latin-1 é
    const msg = await expectReadError(bytes, /point 0: id is not valid UTF-8 \(byte 0xe9 at offset 1 of the string\).*invalidUtf8: 'latin1'/);
    expect(msg).toContain("ISIS writes strings as Latin-1");
    const file = tmpFile("latin1.net");
    fs.writeFileSync(file, bytes);
    const read = await readControlNetwork(file, { invalidUtf8: "latin1" });
    expect(read.points[0].id).toBe("AéB");
    const at2 = bytes.indexOf("qxq", 65536);
    bytes[at2 + 1] = 0xff;
    bytes[at + 1] = 0x78;
    await expectReadError(bytes, /point 'AxB' \(index 0\), measure 0 \('s1'\): choosername is not valid UTF-8/);
  });

  it("a label with Latin-1 text (as ISIS writes non-ASCII label values) is still read", async () => {
    const net = minimalNetwork();
    net.description = "cafe";
    // ISIS would write Description = "café (note)" and UserName = café, in Latin-1.
    let bytes = setLabel(Buffer.from(encodeControlNetwork(net)), "Description", '"cafX (note)"');
    bytes = setLabel(bytes, "UserName", "cafYZ");
    const d = bytes.indexOf("cafX (note)");
    const u = bytes.indexOf("cafYZ");
    expect(Math.min(d, u)).toBeGreaterThan(0);
    bytes[d + 3] = 0xe9; // é in Latin-1, not UTF-8
    bytes[d + 4] = 0xa0; // a Latin-1 no-break space, inside quotes
    bytes[u + 3] = 0xe9;
    bytes[u + 4] = 0xa0; // and unquoted: ISIS quotes only for an ASCII space
    expect(() => new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, bytes.indexOf(0)))).toThrow();
    const file = tmpFile("latin1-label.net");
    fs.writeFileSync(file, bytes);
    expect((await readControlNetwork(file)).description).toBe("cafe");
  });

  it("corrupt messages and impossible values give errors, not crashes", async () => {
    const [a, b] = raw.pointRanges[1];
    const corrupt = Buffer.from(good);
    corrupt.fill(0xff, a, b);
    await expectReadError(corrupt, /point 1 \(bytes \d+–\d+\) is not a valid ControlPointFileEntryV0002 message/);
    const dup = richNetwork();
    dup.points[2].id = "P001";
    const dupBytes = Buffer.from(encodeControlNetwork({ ...dup, points: [dup.points[0]] }));
    // Two points with the same id, built with the independent encoder.
    const p = P2.encode(P2.fromObject({ id: "same", type: 2, measures: [{ serialnumber: "s", type: 0, sample: 1, line: 1 }] })).finish();
    const h = H2.encode(H2.fromObject({ networkId: "d", targetName: "Mars", pointMessageSizes: [p.length, p.length] })).finish();
    const label = `Object = ProtoBuffer\n  Object = Core\n    HeaderStartByte = 65536\n    HeaderBytes = ${h.length}\n    PointsStartByte = ${65536 + h.length}\n    PointsBytes = ${2 * p.length}\n  End_Object\n  Group = ControlNetworkInfo\n    Version = 2\n  End_Group\nEnd_Object\nEnd\n`;
    const twice = Buffer.alloc(65536 + h.length + 2 * p.length);
    twice.write(label);
    Buffer.from(h).copy(twice, 65536);
    Buffer.from(p).copy(twice, 65536 + h.length);
    Buffer.from(p).copy(twice, 65536 + h.length + p.length);
    await expectReadError(twice, /points 0 and 1 have the same id 'same'/);
    expect(decodeControlNetwork(dupBytes).points).toHaveLength(1);
  });

  it("random truncations and byte flips never escape as anything but ControlNetError", () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const base = [good, good5];
    let errors = 0;
    for (let k = 0; k < 600; k++) {
      const src = base[k % 2];
      let bytes: Buffer;
      const mode = k % 5;
      if (mode === 0) bytes = src.subarray(0, Math.floor(rand() * src.length));
      else if (mode === 4) {
        // PVL-significant characters (and Latin-1 spaces) dropped into the label
        const special = [0xa0, 0x85, 0x22, 0x27, 0x28, 0x29, 0x3d, 0x3c, 0x3e, 0x23, 0x2f, 0x2a, 0x2d, 0x0a, 0x20, 0x7b, 0x7d, 0x2c, 0x0b];
        bytes = Buffer.from(src);
        for (let f = 0; f < 3; f++) bytes[Math.floor(rand() * raw.labelEnd)] = special[Math.floor(rand() * special.length)];
      } else {
        bytes = Buffer.from(src);
        const flips = 1 + Math.floor(rand() * 4);
        for (let f = 0; f < flips; f++) {
          const pos = mode === 1 ? Math.floor(rand() * raw.labelEnd) : 65536 + Math.floor(rand() * (src.length - 65536));
          bytes[pos] = Math.floor(rand() * 256);
        }
      }
      try {
        const net = decodeControlNetwork(bytes, { file: `fuzz-${k}` });
        expect(Array.isArray(net.points)).toBe(true);
      } catch (err) {
        errors++;
        if (!(err instanceof ControlNetError)) throw new Error(`case ${k} (mode ${mode}) escaped as ${String(err)}`);
        expect((err as Error).message).toContain(`fuzz-${k}`);
      }
    }
    expect(errors).toBeGreaterThan(100);
  });
});

describe("validation before writing", () => {
  const cases: [string, (n: ControlNetwork) => void, RegExp][] = [
    ["duplicate point ids", (n) => (n.points[2].id = "P001"), /point 'P001': id used by points 0 and 2; point ids must be unique/],
    ["an empty point id", (n) => (n.points[1].id = ""), /point at index 1: id is empty/],
    ["a point without measures", (n) => (n.points[2].measures = []), /point 'P003' \(index 2\): has no measures/],
    ["an empty serial number", (n) => (n.points[1].measures[0].serialNumber = ""), /point 'P002 ünï 日本' \(index 1\), measure 0: serialNumber is empty/],
    ["a NaN sample", (n) => (n.points[0].measures[1].sample = Number.NaN), /point 'P001' \(index 0\), measure 1 \('MRO\/CTX\/1234567891:000'\): sample must be a finite number, got NaN/],
    ["an infinite line", (n) => (n.points[2].measures[0].line = Infinity), /point 'P003'.*line must be a finite number, got Infinity/],
    ["a missing line", (n) => delete (n.points[2].measures[0] as { line?: number }).line, /point 'P003'.*line must be a finite number, got undefined/],
    ["a reference index past the measures", (n) => (n.points[0].referenceIndex = 2), /point 'P001'.*referenceIndex 2 is not the index of one of its 2 measures/],
    ["two measures on one image", (n) => (n.points[1].measures[1].serialNumber = "A"), /point 'P002 ünï 日本'.*measures 0 and 1 both have serial number 'A'/],
    ["an unknown point type", (n) => ((n.points[0] as { type: string }).type = "ground"), /point 'P001'.*type must be one of 'free', 'constrained', 'fixed', got "ground"/],
    ["a short covariance", (n) => ((n.points[0].aprioriSurfacePoint!.covariance as number[]) = [1, 2, 3]), /aprioriSurfacePoint\.covariance must be 6 finite numbers/],
    ["an unknown log type", (n) => ((n.points[0].measures[0].logData![0] as { dataType: string }).dataType = "Fit"), /logData\[0\]\.dataType must be one of/],
    ["a lone surrogate", (n) => (n.points[0].chooserName = "a\ud800b"), /point 'P001'.*chooserName has a lone UTF-16 surrogate/],
    ["an empty target name", (n) => (n.targetName = ""), /network: targetName is empty/],
  ];
  it.each(cases)("refuses %s, naming the point and what to fix", async (_name, spoil, pattern) => {
    const net = richNetwork();
    spoil(net);
    expect(validateControlNetwork(net).join("\n")).toMatch(pattern);
    const file = tmpFile("invalid.net");
    await expect(writeControlNetwork(file, net)).rejects.toThrow(pattern);
    await expect(writeControlNetwork(file, net)).rejects.toThrow(new RegExp(`for ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} not written, 1 problem:`));
    expect(fs.existsSync(file)).toBe(false);
  });

  it("lists many problems at once, the first ten and a count", () => {
    const net = richNetwork();
    for (let i = 0; i < 12; i++) net.points.push({ id: `bad${i}`, type: "free", measures: [] });
    expect(() => encodeControlNetwork(net)).toThrow(/12 problems:[\s\S]*bad9[\s\S]*… and 2 more/);
    expect(validateControlNetwork(richNetwork())).toEqual([]);
  });

  it("refuses a label that would not fit in ISIS's 64 KiB", () => {
    const net = minimalNetwork();
    net.description = "word ".repeat(20000);
    expect(() => encodeControlNetwork(net)).toThrow(/label is \d+ bytes, more than the 65536 ISIS reserves for it; shorten the description/);
  });
});

describe("image lists (.lis)", () => {
  it("writes one path per line and reads them back", async () => {
    const file = tmpFile("images.lis");
    const paths = ["/data/P01_001234_1234_XI_00N000W.cub", "relative/B02.cub", "./#odd.cub"];
    await writeImageList(file, paths);
    expect(fs.readFileSync(file, "utf8")).toBe(paths.join("\n") + "\n");
    expect(await readImageList(file)).toEqual(paths);
  });

  it("reads as ISIS's FileList does: comments, blank lines, CRLF, quotes", async () => {
    const file = tmpFile("isis.lis");
    fs.writeFileSync(file, '# a comment\r\n\r\n  // another\r\n/a/one.cub\r\n   /a/two.cub  \r\n"/a/three.cub"\n/a/four.cub');
    expect(await readImageList(file)).toEqual(["/a/one.cub", "/a/two.cub", "/a/three.cub", "/a/four.cub"]);
  });

  it("refuses what ISIS would read differently", async () => {
    const file = tmpFile("bad.lis");
    await expect(writeImageList(file, ["/ok.cub", "/has space.cub"])).rejects.toThrow(/line 2 \("\/has space.cub"\) contains white space/);
    await expect(writeImageList(file, ["a,b.cub"])).rejects.toThrow(/comma/);
    await expect(writeImageList(file, ["#x.cub"])).rejects.toThrow(/comment; use \.\/ before it/);
    await expect(writeImageList(file, ["a.cub\nb.cub"])).rejects.toThrow(/white space/);
    await expect(writeImageList(file, [])).rejects.toThrow(/no image paths to write; ISIS rejects an empty list/);
    expect(fs.existsSync(file)).toBe(false);
    fs.writeFileSync(file, "/a/one.cub /a/two.cub\n");
    await expect(readImageList(file)).rejects.toThrow(/line 1 has text after the path \("\/a\/two.cub"\); ISIS would read only "\/a\/one.cub"/);
    fs.writeFileSync(file, Buffer.from([0x2f, 0xe9, 0x0a]));
    await expect(readImageList(file)).rejects.toThrow(/not UTF-8/);
    await expect(readImageList(path.join(TMP, "none.lis"))).rejects.toThrow(/none\.lis: cannot read the image list: no such file/);
  });
});
