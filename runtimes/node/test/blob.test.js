// The blob reader and restore steps 1-4 against the text of docs/blob-format.md (§1-§5, §8).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { deflateSync } from 'node:zlib';

import { encode as encodePng } from 'fast-png';

import ort from 'onnxruntime-node';

import { inspect, openSessions, readBlob, restore } from '../index.js';
import { readBlob as readBlobWith } from '../lib/blob.js';
import { readCarrier } from '../lib/carrier.js';
import { crc32 } from '../lib/crc32.js';
import { computeGrids, plainFeeds, restoreImage, restorePixels } from '../lib/restore.js';

const VECTORS = new URL('../../../tests/conformance/vectors/', import.meta.url);
// The §8 blob: D = 32, L = 12, float16, gated, version 2, weights of numpy's default_rng(0),
// packed by gamut_onnx.blob.pack_blob. Its SHA-256 (checked below) is the one §8 prints.
const SPEC_BLOB = new Uint8Array(
  readFileSync(new URL('fixtures/spec-example-v2.blob', import.meta.url)),
);
const SPEC_HEADER =
  '47414d55544d4c50020040000101020102' +
  '0c2000010000030400000003000000' +
  '8bb6ceaf2c3a6942561788e240ec123d432bf63f404a3e398fb66e4e20048848';
// prettier-ignore
const SPEC_PIXELS = [
  [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255],
  [128, 64, 32], [200, 100, 50], [10, 20, 30], [0, 0, 0],
  [250, 128, 5], [30, 200, 180], [77, 77, 77], [255, 128, 0],
].flat();
// §8 restored output (onnxruntime, 7 digits), row by row.
// prettier-ignore
const SPEC_OUTPUT = [
  [0.642459, 0.6067197, 0], [0.4448854, 1, 0], [0.1452183, 0.3069282, 0.7667382], [1, 1, 0.8589998],
  [0.1332634, 0.0664569, 0.0216683], [0.3523917, 0.1690961, 0.0510164],
  [0.0057254, 0.0067488, 0.0121848], [0.0710152, 0.3526338, 0],
  [0.5778608, 0.283014, 0.0399844], [0.2625062, 0.5196429, 0.4621756],
  [0.0742319, 0.0742087, 0.07423], [0.6853347, 0.8373613, 0],
].flat();

const N_SPEC = 5027;
const f32 = Math.fround;
const bitsOf = (values) => Array.from(new Uint32Array(Float32Array.from(values).buffer));
const sha256hex = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** `body` (header + weights [+ records]) with its CRC appended. */
function seal(body) {
  const blob = new Uint8Array(body.length + 4);
  blob.set(body);
  new DataView(blob.buffer).setUint32(body.length, crc32(body), true);
  return blob;
}

/** A copy of `blob` with `edit(bytes, dataView)` applied to its body; resealed unless told. */
function edited(blob, edit, { reseal = false } = {}) {
  const b = Uint8Array.from(blob);
  edit(b, new DataView(b.buffer));
  return reseal ? seal(b.subarray(0, b.length - 4)) : b;
}

/** The §8 blob as version 1 (§1.1): byte 14 = 1, byte 23 = 0, resealed. */
const SPEC_V1 = edited(
  SPEC_BLOB,
  (b, v) => {
    v.setUint16(8, 1, true);
    b[14] = 1;
    b[23] = 0;
  },
  { reseal: true },
);

/** A float32 §8-shaped blob whose weight `index` is `value` (all others 0). */
function float32Blob(...pairs) {
  const body = new Uint8Array(64 + N_SPEC * 4);
  body.set(SPEC_BLOB.subarray(0, 64));
  body[12] = 2;
  const dv = new DataView(body.buffer);
  for (let k = 0; k < pairs.length; k += 2) dv.setFloat32(64 + 4 * pairs[k], pairs[k + 1], true);
  return seal(body);
}

/** The §8 blob with `records` after its weights (flags bit 1) and the given source codes. */
function withRecords(records, primaries = 1, transfer = 3) {
  const weightsEnd = 64 + N_SPEC * 2;
  const body = new Uint8Array(weightsEnd + records.length);
  body.set(SPEC_BLOB.subarray(0, weightsEnd));
  body.set(records, weightsEnd);
  const dv = new DataView(body.buffer);
  dv.setUint16(20, dv.getUint16(20, true) | 2, true);
  body[13] = primaries;
  body[23] = transfer;
  return seal(body);
}

/** One record: type (u8), length (u32 LE), payload. */
function record(type, payload) {
  const out = new Uint8Array(5 + payload.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, payload.length, true);
  out.set(payload, 5);
  return out;
}

const concat = (...parts) => Uint8Array.from(parts.flatMap((p) => Array.from(p)));

test('§8 worked example: header bytes, first weights, CRC, length and SHA-256', () => {
  assert.equal(SPEC_BLOB.length, 10122);
  assert.equal(Buffer.from(SPEC_BLOB.subarray(0, 64)).toString('hex'), SPEC_HEADER);
  assert.equal(Buffer.from(SPEC_BLOB.subarray(64, 72)).toString('hex'), '7022c4a2192c5f21');
  assert.equal(Buffer.from(SPEC_BLOB.subarray(-4)).toString('hex'), '415edbee');
  assert.equal(crc32(SPEC_BLOB.subarray(0, -4)), 0xeedb5e41);
  assert.equal(
    sha256hex(SPEC_BLOB),
    '828d0dc6b1dce90deab5038cff6c006933fe33833220ad4e19913f80f40fe85b',
  );
});

test('§8 header fields', () => {
  const blob = readBlob(SPEC_BLOB);
  assert.equal(blob.byteLength, 10122);
  assert.equal(blob.formatVersion, 2);
  assert.equal(blob.weightDtype, 'float16');
  assert.deepEqual([blob.width, blob.octaves, blob.hiddenLayers], [32, 12, 2]);
  assert.deepEqual([blob.gated, blob.boundaryMargin], [true, 0]);
  assert.deepEqual([blob.imageWidth, blob.imageHeight], [4, 3]);
  assert.deepEqual(
    [blob.sourcePrimaries, blob.sourceTransfer, blob.sourceSpace, blob.carrierTransform],
    ['prophoto', 'romm', 'prophoto', 2],
  );
  assert.equal(blob.sourceIcc, null);
  assert.equal(blob.crc32, 0xeedb5e41);
  assert.deepEqual(blob.shapes.w1, [120, 32]);
  assert.equal(blob.weights.b3.length, 3);
  const w = Array.from(blob.weights.w1.subarray(0, 4));
  [0.01257, -0.013214, 0.064, 0.01049].forEach((want, i) =>
    assert.ok(Math.abs(w[i] - want) < 5e-5, `w1[0][${i}] = ${w[i]}`), // as §8 prints them
  );
  const digest = createHash('sha256').update(Uint8Array.from(SPEC_PIXELS)).digest();
  assert.deepEqual(Buffer.from(blob.pixelDigest), digest); // §4.2: row-major RGB bytes
});

test('§1.1 version 1 still reads: the §8 blob as version 1 and the v1 vectors', async () => {
  const v1 = readBlob(SPEC_V1);
  assert.deepEqual(
    [v1.formatVersion, v1.carrierTransform, v1.sourceSpace, v1.sourcePrimaries, v1.sourceTransfer],
    [1, 1, 'prophoto', 'prophoto', 'romm'],
  );
  assert.deepEqual(v1.weights.w2, readBlob(SPEC_BLOB).weights.w2);
  for (const file of ['v1_png_gated_fp16.png', 'v1_tiff_alpha_fp32_w16.tif']) {
    const carrier = await readCarrier(new Uint8Array(readFileSync(new URL(file, VECTORS))));
    const blob = readBlob(carrier.blob);
    assert.deepEqual(
      [blob.formatVersion, blob.carrierTransform, blob.sourceSpace],
      [1, 1, 'prophoto'],
    );
  }
  const jpeg = await inspect(readFileSync(new URL('v1_jpeg_q90_gated.jpg', VECTORS)));
  assert.deepEqual(
    [jpeg.format_version, jpeg.carrier_transform, jpeg.source_space],
    [1, 1, 'prophoto'],
  );
});

test('float16 weights convert exactly, subnormals included', () => {
  const header = Uint8Array.from(SPEC_BLOB.subarray(0, 64));
  header[17] = 1; // L = 1
  new DataView(header.buffer).setUint16(18, 16, true); // D = 16 -> N = 16 * (10 + 16 + 5) + 3 = 499
  const halves = new Uint16Array(499);
  halves.set([0x0001, 0x03ff, 0x3c00, 0xc000, 0x7bff, 0x8000, 0x3555]);
  const blob = readBlob(seal(concat(header, new Uint8Array(halves.buffer))));
  const got = Array.from(blob.weights.w1.subarray(0, 7));
  const want = [2 ** -24, 1023 * 2 ** -24, 1, -2, 65504, -0, f32(0.333251953125)];
  assert.deepEqual(got, want);
});

/** Every case must fail with exactly `invalid weight blob: <reason>`. */
function assertReasons(cases) {
  for (const [bytes, reason] of cases) {
    assert.throws(() => readBlob(bytes), {
      name: 'GamutError',
      message: `invalid weight blob: ${reason}`,
    });
  }
}

test('§4.1 checks, each with its documented reason (version 2)', () => {
  const e = (edit) => edited(SPEC_BLOB, edit);
  assertReasons([
    [SPEC_BLOB.subarray(0, 67), 'truncated (67 bytes, header alone needs 68)'],
    [e((b) => (b[7] = 0x58)), "bad magic b'GAMUTMLX' (expected b'GAMUTMLP')"],
    [e((b) => (b[0] = 0x27)), "bad magic b\"'AMUTMLP\" (expected b'GAMUTMLP')"],
    [
      e((b, v) => v.setUint16(8, 4, true)),
      'format version 4 is not supported (this build reads 1 to 3)',
    ],
    [
      e((b, v) => v.setUint16(8, 0, true)),
      'format version 0 is not supported (this build reads 1 to 3)',
    ],
    [e((b, v) => v.setUint16(10, 65, true)), 'header size 65 (expected 64)'],
    [e((b) => (b[12] = 3)), 'unknown weight dtype code 3'],
    [e((b) => (b[13] = 6)), 'unknown source colour space codes 6/3'],
    [e((b) => (b[23] = 8)), 'unknown source colour space codes 1/8'],
    [e((b) => (b[13] = 255)), 'source colour space codes 255/3 disagree'],
    [e((b) => (b[23] = 0)), 'source colour space codes 1/0 disagree'],
    [e((b) => (b[14] = 0)), 'unknown carrier transform code 0'],
    [e((b) => (b[14] = 3)), 'unknown carrier transform code 3'],
    [e((b, v) => v.setUint16(20, 5, true)), 'unknown flags 0x0005'],
    [e((b, v) => v.setUint16(20, 0x8000, true)), 'unknown flags 0x8000'],
    [e((b) => (b[15] = 3)), 'unknown input layout code 3'],
    [e((b) => (b[16] = 3)), '3 hidden layers (this runtime supports 2)'],
    [e((b, v) => v.setUint16(18, 48, true)), 'width 48 (supported: 16, 32, 64, 128)'],
    [e((b) => (b[17] = 0)), '0 octaves (supported: 1..16)'],
    [e((b) => (b[17] = 17)), '17 octaves (supported: 1..16)'],
    [e((b) => (b[22] = 65)), 'boundary margin 65 (supported: 0..64)'],
    [e((b, v) => v.setUint32(28, 0, true)), 'image size 4x0'],
    [concat(SPEC_BLOB, [0]), '10123 bytes, but its header describes 10122 (truncated?)'],
    [
      e((b, v) => v.setUint16(20, 3, true)).subarray(0, 10000),
      '10000 bytes, but its header describes 10122 (truncated?)',
    ],
    [e((b) => (b[100] ^= 1)), 'CRC32 mismatch (the blob is corrupted)'],
    [
      seal(concat(SPEC_BLOB.subarray(0, 64), new Uint8Array(N_SPEC * 2).fill(0x7e, 2, 4))),
      'weights contain NaN or infinity',
    ],
  ]);
  // Order matters: a bad version is reported before a bad dtype, a bad field before the CRC.
  const both = e((b, v) => {
    v.setUint16(8, 7, true);
    b[12] = 9;
  });
  assert.throws(() => readBlob(both), /format version 7/);
  assert.throws(() => readBlob(e((b) => (b[13] = 9))), /codes 9\/3$/); // CRC not reached
});

test('§4.1 step 6 for version 1: source space 1, transform 1, no flags but gating', () => {
  const e = (edit) => edited(SPEC_V1, edit);
  assertReasons([
    [e((b) => (b[13] = 2)), 'unknown source colour space code 2'],
    [e((b) => (b[14] = 2)), 'unknown carrier transform code 2'],
    [e((b, v) => v.setUint16(20, 3, true)), 'unknown flags 0x0003 or non-zero reserved field'],
    [e((b) => (b[23] = 3)), 'unknown flags 0x0001 or non-zero reserved field'],
  ]);
});

test('§3 weights are bounded by +-65504 (float32 blobs), after the finiteness check', () => {
  assert.equal(readBlob(float32Blob(7, 65504, 8, -65504)).weights.w1[7], 65504);
  assertReasons([
    [float32Blob(7, 65504.00390625), 'weights exceed +-65504 (a restore could overflow)'],
    [float32Blob(N_SPEC - 1, -3e38), 'weights exceed +-65504 (a restore could overflow)'],
    [float32Blob(0, 1e6, N_SPEC - 1, NaN), 'weights contain NaN or infinity'],
  ]);
});

test('§3.1 records: framing, critical and ancillary types, the source ICC profile', async () => {
  const icc = new TextEncoder().encode('a stand-in for an ICC profile '.repeat(20));
  const iccRecord = record(128, deflateSync(icc));
  // Unknown ancillary records are skipped; an empty record area is allowed.
  const skipped = readBlob(withRecords(concat(record(200, [1, 2, 3]), record(255, []))));
  assert.deepEqual([skipped.sourceSpace, skipped.sourceIcc], ['prophoto', null]);
  assert.equal(readBlob(withRecords(new Uint8Array(0))).sourceSpace, 'prophoto');
  // The ICC record, inflated, makes the source space 'icc'.
  const withIcc = readBlob(withRecords(concat(record(201, [9]), iccRecord), 255, 0));
  assert.deepEqual(
    [withIcc.sourcePrimaries, withIcc.sourceTransfer, withIcc.sourceSpace],
    ['icc', 'icc', 'icc'],
  );
  assert.deepEqual(withIcc.sourceIcc, icc);
  // Without an inflater (the page's lib/ call) the framing is checked, the profile not inflated;
  // an asynchronous inflater leaves a Promise that openCarrier awaits.
  assert.equal(readBlobWith(withRecords(iccRecord, 255, 0)).sourceIcc, null);
  const later = readBlobWith(withRecords(iccRecord, 255, 0), {
    inflate: async () => Uint8Array.of(1, 2),
  });
  assert.deepEqual(await later.sourceIcc, Uint8Array.of(1, 2));

  const bomb = record(128, deflateSync(new Uint8Array((4 << 20) + 1)));
  const exact = record(128, deflateSync(new Uint8Array(4 << 20)));
  assert.equal(readBlob(withRecords(exact, 255, 0)).sourceIcc.length, 4 << 20);
  const truncated = record(128, deflateSync(icc).subarray(0, 20));
  assertReasons([
    [withRecords(Uint8Array.of(128, 1, 0)), 'truncated record header'],
    [
      withRecords(concat(record(200, []), [7, 100, 0, 0, 0, 1])),
      'record of 100 bytes runs past the blob',
    ],
    [withRecords(record(5, [120])), 'record type 5 needs a newer gamut-onnx'],
    [withRecords(concat(record(200, []), record(0, []))), 'record type 0 needs a newer gamut-onnx'],
    [withRecords(bomb, 255, 0), 'source ICC record is truncated or inflates past 4 MB'],
    [withRecords(truncated, 255, 0), 'source ICC record is truncated or inflates past 4 MB'],
    [
      withRecords(iccRecord),
      'source colour space says ICC, but there is no profile record, or vice versa',
    ],
    [
      withRecords(record(200, []), 255, 0),
      'source colour space says ICC, but there is no profile record, or vice versa',
    ],
    [
      edited(SPEC_BLOB, (b) => ((b[13] = 255), (b[23] = 0)), { reseal: true }),
      'source colour space says ICC, but there is no profile record, or vice versa',
    ],
  ]);
  assert.throws(
    () => readBlob(withRecords(record(128, Uint8Array.of(1, 2, 3, 4)), 255, 0)),
    /^GamutError: invalid weight blob: source ICC record is corrupt \(.+\)$/,
  );
  // Records run in order: a corrupt ICC before a critical record reports the ICC.
  const corruptFirst = concat(record(128, [1, 2, 3, 4]), record(5, []));
  assert.throws(() => readBlob(withRecords(corruptFirst, 255, 0)), /ICC record is corrupt/);
});

/** §5 steps 1-2 through restore.onnx with the no-model feeds: clipped linear ProPhoto `p`. */
async function clipped(pixels, width, height, transform = 2) {
  const { restore: session } = await openSessions();
  const image = restoreImage(ort, { rgb: pixels, width, height }, plainFeeds(ort, transform));
  return restorePixels(ort, session, image);
}

test("§5 step 1: the graphs' LIN table matches its check values and SHA-256", async () => {
  // grids.onnx's finest cells are block means of LIN[code]: 4 x 4 blocks of one code each give
  // LIN exactly (16 equal float32 values sum exactly in float64).
  const width = 4 * 256;
  const rgb = new Uint8Array(4 * width * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = Math.floor((i / 3) % width / 4);
  const { grids } = await openSessions();
  const { grid4 } = await computeGrids(ort, grids, rgb, width, 4);
  assert.deepEqual(grid4.dims, [4, 1, 256]); // planar: R, G, B means and the boundary share
  const LIN = grid4.data.slice(0, 256);
  assert.deepEqual(grid4.data.subarray(256, 512), LIN);
  assert.deepEqual(grid4.data.subarray(512, 768), LIN);
  const bits = new Uint32Array(LIN.buffer);
  assert.deepEqual(
    [1, 10, 11, 128, 254, 255].map((i) => bits[i]),
    [0x399f22b4, 0x3b46eb61, 0x3b5b518e, 0x3e5d0a89, 0x3f7db8de, 0x3f800000],
  );
  assert.equal(
    sha256hex(new Uint8Array(LIN.buffer)),
    '48a8f05136456237aae2c5349e5f0199a182daa19b7c099eb542058f794b9c5b',
  );
});

const at = (p, r, c) => Array.from(p.subarray((r * 4 + c) * 3, (r * 4 + c) * 3 + 3));

test('§8 clipped ProPhoto p (transform 2), bit for bit, through the no-model feeds', async () => {
  const p = await clipped(Uint8Array.from(SPEC_PIXELS), 4, 3);
  assert.deepEqual(at(p, 1, 2), [f32(0.00572538888), f32(0.00674882391), f32(0.0121848006)]);
  assert.deepEqual(bitsOf(at(p, 0, 3)), [0x3f800000, 0x3f7ffbbc, 0x3f800000]);
  // The legacy transform 1 (version-1 blobs) is another matrix: white maps elsewhere.
  const legacy = await clipped(Uint8Array.from(SPEC_PIXELS), 4, 3, 1);
  assert.notDeepEqual(bitsOf(at(legacy, 0, 3)), bitsOf(at(p, 0, 3)));
  assert.ok(legacy.every((v, i) => Math.abs(v - p[i]) < 1e-3));
});

/** §5 steps 3-4 in float32, for pixel (r, c) of a W x H image with clipped colour p. */
function inputVector(r, c, W, H, p) {
  const sx = f32(2 / f32(Math.max(W - 1, 1)));
  const sy = f32(2 / f32(Math.max(H - 1, 1)));
  const x = f32(f32(c * sx) - 1);
  const y = f32(f32(r * sy) - 1);
  return [x, y, ...p.map((v) => f32(f32(2 * v) - 1))];
}

test('§8 input vectors and k = 11 angles, bit for bit', async () => {
  const p = await clipped(Uint8Array.from(SPEC_PIXELS), 4, 3);
  const v12 = inputVector(1, 2, 4, 3, at(p, 1, 2));
  const v21 = inputVector(2, 1, 4, 3, at(p, 2, 1));
  assert.deepEqual(bitsOf(v12), [0x3eaaaaac, 0x00000000, 0xbf7d1190, 0xbf7c8b6b, 0xbf79c2ea]);
  assert.deepEqual(bitsOf(v21), [0xbeaaaaaa, 0x3f800000, 0xbef33190, 0x3d20ea20, 0xbd9aedc0]);
  const pi = new Float32Array(new Uint32Array([0x40490fdb]).buffer)[0];
  const f11 = f32(pi * 2 ** 11);
  assert.equal(f32(v12[0] * f11), f32(2144.661));
  assert.equal(f32(v12[4] * f11), f32(-6277.1885));
});

test('§8 restored output through the graph (a PNG carrier of the example)', async () => {
  const data = Uint8Array.from(SPEC_PIXELS);
  const png = encodePng({ width: 4, height: 3, data, channels: 3, depth: 8 });
  const chunk = new Uint8Array(12 + SPEC_BLOB.length);
  const dv = new DataView(chunk.buffer);
  dv.setUint32(0, SPEC_BLOB.length);
  chunk.set(new TextEncoder().encode('gmLP'), 4);
  chunk.set(SPEC_BLOB, 8);
  dv.setUint32(8 + SPEC_BLOB.length, crc32(chunk.subarray(4, 8 + SPEC_BLOB.length)));
  const carrier = concat(png.subarray(0, 33), chunk, png.subarray(33));
  const result = await restore(carrier);
  assert.deepEqual(result.warnings, []);
  for (let i = 0; i < SPEC_OUTPUT.length; i++) {
    assert.ok(Math.abs(result.data[i] - SPEC_OUTPUT[i]) <= 1e-6, `value ${i}: ${result.data[i]}`);
  }
  // The gated model skips the interior pixels: they equal p exactly.
  const p = await clipped(Uint8Array.from(SPEC_PIXELS), 4, 3);
  for (const [r, c] of [[1, 0], [1, 1], [1, 2], [2, 0], [2, 1], [2, 2]]) {
    assert.deepEqual(at(result.data, r, c), at(p, r, c), `(${r}, ${c})`);
  }
});
