// The blob reader and restore steps 1-2 against the text of docs/blob-format.md (§2-§5, §8).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';

import { readBlob } from '../index.js';
import { crc32 } from '../lib/crc32.js';
import { clippedProPhoto, LIN, M } from '../lib/colour.js';

// The §8 header: D = 32, L = 12, float16, gated, 4 x 3, with its pixel digest.
const SPEC_HEADER = Buffer.from(
  '47414d55544d4c50010040000101010102' +
    '0c2000010000000400000003000000' +
    '8bb6ceaf2c3a6942561788e240ec123d432bf63f404a3e398fb66e4e20048848',
  'hex',
);
// prettier-ignore
const SPEC_PIXELS = [
  [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255],
  [128, 64, 32], [200, 100, 50], [10, 20, 30], [0, 0, 0],
  [250, 128, 5], [30, 200, 180], [77, 77, 77], [255, 128, 0],
].flat();

/** A blob with the given header and weight bytes, and a correct CRC. */
function makeBlob(header, weightBytes) {
  const body = new Uint8Array(64 + weightBytes.length);
  body.set(header);
  body.set(weightBytes, 64);
  const blob = new Uint8Array(body.length + 4);
  blob.set(body);
  new DataView(blob.buffer).setUint32(body.length, crc32(body), true);
  return blob;
}

const specBlob = () => makeBlob(SPEC_HEADER, new Uint8Array(5027 * 2)); // N = 5027, zeros

/** specBlob with `edit(bytes, dataView)` applied to it, CRC left as it was. */
function edited(edit) {
  const b = specBlob();
  edit(b, new DataView(b.buffer));
  return b;
}

test('§8 header fields', () => {
  const blob = readBlob(specBlob());
  assert.equal(blob.byteLength, 10122);
  assert.equal(blob.formatVersion, 1);
  assert.equal(blob.weightDtype, 'float16');
  assert.deepEqual([blob.width, blob.octaves, blob.hiddenLayers], [32, 12, 2]);
  assert.deepEqual([blob.gated, blob.boundaryMargin], [true, 0]);
  assert.deepEqual([blob.imageWidth, blob.imageHeight], [4, 3]);
  assert.deepEqual(blob.shapes.w1, [120, 32]);
  assert.equal(blob.weights.b3.length, 3);
  const digest = createHash('sha256').update(Uint8Array.from(SPEC_PIXELS)).digest();
  assert.deepEqual(Buffer.from(blob.pixelDigest), digest); // §4.2: row-major RGB bytes
});

test('float16 weights convert exactly, subnormals included', () => {
  const header = Buffer.from(SPEC_HEADER);
  header[17] = 1; // L = 1
  header.writeUInt16LE(16, 18); // D = 16 -> N = 16 * (10 + 16 + 5) + 3 = 499
  const halves = new Uint16Array(499);
  halves.set([0x0001, 0x03ff, 0x3c00, 0xc000, 0x7bff, 0x8000, 0x3555]);
  const blob = readBlob(makeBlob(header, new Uint8Array(halves.buffer)));
  const got = Array.from(blob.weights.w1.subarray(0, 7));
  const want = [2 ** -24, 1023 * 2 ** -24, 1, -2, 65504, -0, Math.fround(0.333251953125)];
  assert.deepEqual(got, want);
});

test('§4.1 checks, each with its documented reason', () => {
  const cases = [
    [specBlob().subarray(0, 67), 'truncated (67 bytes, header alone needs 68)'],
    [edited((b) => (b[7] = 0x58)), "bad magic b'GAMUTMLX' (expected b'GAMUTMLP')"],
    [edited((b) => (b[0] = 0x27)), "bad magic b\"'AMUTMLP\" (expected b'GAMUTMLP')"],
    [
      edited((b, v) => v.setUint16(8, 2, true)),
      'format version 2 is not supported (this build reads version 1)',
    ],
    [edited((b, v) => v.setUint16(10, 65, true)), 'header size 65 (expected 64)'],
    [edited((b) => (b[12] = 3)), 'unknown weight dtype code 3'],
    [edited((b) => (b[13] = 2)), 'unknown source colour space code 2'],
    [edited((b) => (b[14] = 0)), 'unknown carrier transform code 0'],
    [edited((b) => (b[15] = 2)), 'unknown input layout code 2'],
    [edited((b) => (b[16] = 3)), '3 hidden layers (this runtime supports 2)'],
    [edited((b, v) => v.setUint16(18, 48, true)), 'width 48 (supported: 16, 32, 64, 128)'],
    [edited((b) => (b[17] = 0)), '0 octaves (supported: 1..16)'],
    [edited((b) => (b[17] = 17)), '17 octaves (supported: 1..16)'],
    [edited((b, v) => v.setUint16(20, 3, true)), 'unknown flags 0x0003 or non-zero reserved field'],
    [edited((b) => (b[23] = 1)), 'unknown flags 0x0001 or non-zero reserved field'],
    [edited((b) => (b[22] = 65)), 'boundary margin 65 (supported: 0..64)'],
    [edited((b, v) => v.setUint32(28, 0, true)), 'image size 4x0'],
    [
      Uint8Array.from([...specBlob(), 0]),
      '10123 bytes, but its header describes 10122 (truncated?)',
    ],
    [edited((b) => (b[100] ^= 1)), 'CRC32 mismatch (the blob is corrupted)'],
    [
      makeBlob(SPEC_HEADER, new Uint8Array(10054).fill(0x7e, 2, 4)),
      'weights contain NaN or infinity',
    ],
  ];
  for (const [bytes, reason] of cases) {
    assert.throws(() => readBlob(bytes), {
      name: 'GamutError',
      message: `invalid weight blob: ${reason}`,
    });
  }
  // Order matters: a bad version is reported before a bad dtype, a bad field before the CRC.
  const both = edited((b, v) => {
    v.setUint16(8, 7, true);
    b[12] = 9;
  });
  assert.throws(() => readBlob(both), /format version 7/);
});

test('§5 step 1: the LIN table matches its check values and SHA-256', () => {
  const bits = new Uint32Array(LIN.buffer);
  assert.deepEqual(
    [1, 10, 11, 128, 254, 255].map((i) => bits[i]),
    [0x399f22b4, 0x3b46eb61, 0x3b5b518e, 0x3e5d0a89, 0x3f7db8de, 0x3f800000],
  );
  const sha = createHash('sha256').update(new Uint8Array(LIN.buffer)).digest('hex');
  assert.equal(sha, '48a8f05136456237aae2c5349e5f0199a182daa19b7c099eb542058f794b9c5b');
  assert.equal(new Uint32Array(M.buffer)[4], 0x3f61048c);
});

test('§8 clipped ProPhoto p, bit for bit', () => {
  const p = clippedProPhoto(Uint8Array.from(SPEC_PIXELS));
  const at = (r, c) => Array.from(p.subarray((r * 4 + c) * 3, (r * 4 + c) * 3 + 3));
  const f = Math.fround;
  assert.deepEqual(at(1, 2), [f(0.00572357653), f(0.00674913824), f(0.0121816732)]);
  assert.deepEqual(
    new Uint32Array(Float32Array.from(at(0, 3)).buffer),
    Uint32Array.from([0x3f800000, 0x3f7fffff, 0x3f800000]),
  );
});
