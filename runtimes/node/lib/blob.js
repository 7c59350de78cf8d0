// The weight blob, version 1, read from the normative text of docs/blob-format.md (§2-§4.1).
// Shared by the Node package and the browser page: plain ESM, no Node built-ins.

import { crc32 } from './crc32.js';

export class GamutError extends Error {
  name = 'GamutError';
}

export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 64;
const MAGIC = 'GAMUTMLP';
const DTYPES = { 1: { name: 'float16', size: 2 }, 2: { name: 'float32', size: 4 } };
const WIDTHS = [16, 32, 64, 128];

/**
 * @typedef {object} Blob
 * @property {number} formatVersion
 * @property {'float16'|'float32'} weightDtype
 * @property {number} hiddenLayers
 * @property {number} octaves L
 * @property {number} width D
 * @property {boolean} gated flags bit 0
 * @property {number} boundaryMargin m
 * @property {number} imageWidth
 * @property {number} imageHeight
 * @property {Uint8Array} pixelDigest SHA-256 of the carrier pixels (§4.2)
 * @property {number} crc32
 * @property {number} byteLength
 * @property {{w1: Float32Array, b1: Float32Array, w2: Float32Array, b2: Float32Array,
 *   w3: Float32Array, b3: Float32Array}} weights row-major, matrices stored [in, out]
 * @property {{w1: number[], b1: number[], w2: number[], b2: number[], w3: number[],
 *   b3: number[]}} shapes
 */

/** Payload arrays in storage order (§3), F = 10 L. */
export function weightShapes(width, octaves) {
  const f = 10 * octaves;
  return { w1: [f, width], b1: [width], w2: [width, width], b2: [width], w3: [width, 3], b3: [3] };
}

/** Python's repr() of a bytes object, so the bad-magic message reads like the spec's. */
function pyBytes(bytes) {
  const s = String.fromCharCode(...bytes);
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    if (ch === q || ch === '\\') out += '\\' + ch;
    else if (b === 9) out += '\\t';
    else if (b === 10) out += '\\n';
    else if (b === 13) out += '\\r';
    else if (b < 32 || b >= 127) out += '\\x' + b.toString(16).padStart(2, '0');
    else out += ch;
  }
  return `b${q}${out}${q}`;
}

/** IEEE binary16 -> number; exact, subnormals included (§3). */
function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

function fail(reason) {
  return new GamutError(`invalid weight blob: ${reason}`);
}

/**
 * Validate a raw weight blob (checks of §4.1, in the spec's order) and unpack it.
 * @param {Uint8Array} bytes
 * @returns {Blob}
 */
export function readBlob(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('readBlob expects a Uint8Array');
  const n = bytes.length;
  if (n < HEADER_BYTES + 4) throw fail(`truncated (${n} bytes, header alone needs 68)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, n);
  const magic = bytes.subarray(0, 8);
  if (String.fromCharCode(...magic) !== MAGIC) {
    throw fail(`bad magic ${pyBytes(magic)} (expected b'GAMUTMLP')`);
  }
  const version = dv.getUint16(8, true);
  if (version !== FORMAT_VERSION) {
    throw fail(`format version ${version} is not supported (this build reads version 1)`);
  }
  const headerBytes = dv.getUint16(10, true);
  if (headerBytes !== HEADER_BYTES) throw fail(`header size ${headerBytes} (expected 64)`);
  const dtypeCode = bytes[12];
  if (!DTYPES[dtypeCode]) throw fail(`unknown weight dtype code ${dtypeCode}`);
  if (bytes[13] !== 1) throw fail(`unknown source colour space code ${bytes[13]}`);
  if (bytes[14] !== 1) throw fail(`unknown carrier transform code ${bytes[14]}`);
  if (bytes[15] !== 1) throw fail(`unknown input layout code ${bytes[15]}`);
  const hiddenLayers = bytes[16];
  if (hiddenLayers !== 2) throw fail(`${hiddenLayers} hidden layers (this runtime supports 2)`);
  const octaves = bytes[17];
  const width = dv.getUint16(18, true);
  if (!WIDTHS.includes(width)) throw fail(`width ${width} (supported: 16, 32, 64, 128)`);
  if (octaves < 1 || octaves > 16) throw fail(`${octaves} octaves (supported: 1..16)`);
  const flags = dv.getUint16(20, true);
  if ((flags & ~1) !== 0 || bytes[23] !== 0) {
    const hex = flags.toString(16).padStart(4, '0');
    throw fail(`unknown flags 0x${hex} or non-zero reserved field`);
  }
  const margin = bytes[22];
  if (margin > 64) throw fail(`boundary margin ${margin} (supported: 0..64)`);
  const imageWidth = dv.getUint32(24, true);
  const imageHeight = dv.getUint32(28, true);
  if (imageWidth === 0 || imageHeight === 0) throw fail(`image size ${imageWidth}x${imageHeight}`);
  const { name: weightDtype, size } = DTYPES[dtypeCode];
  const count = width * (10 * octaves + width + 5) + 3; // N (§3)
  const expected = HEADER_BYTES + count * size + 4;
  if (n !== expected) throw fail(`${n} bytes, but its header describes ${expected} (truncated?)`);
  const stored = dv.getUint32(n - 4, true);
  if (stored !== crc32(bytes.subarray(0, n - 4)))
    throw fail('CRC32 mismatch (the blob is corrupted)');

  const all = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const at = HEADER_BYTES + i * size;
    all[i] = size === 2 ? halfToFloat(dv.getUint16(at, true)) : dv.getFloat32(at, true);
    if (!Number.isFinite(all[i])) throw fail('weights contain NaN or infinity');
  }
  const shapes = weightShapes(width, octaves);
  const weights = {};
  let offset = 0;
  for (const [key, shape] of Object.entries(shapes)) {
    const len = shape.reduce((a, b) => a * b, 1);
    weights[key] = all.subarray(offset, offset + len);
    offset += len;
  }
  return {
    formatVersion: version,
    weightDtype,
    hiddenLayers,
    octaves,
    width,
    gated: (flags & 1) === 1,
    boundaryMargin: margin,
    imageWidth,
    imageHeight,
    pixelDigest: bytes.slice(32, 64),
    crc32: stored,
    byteLength: n,
    weights: /** @type {Blob['weights']} */ (weights),
    shapes: /** @type {Blob['shapes']} */ (shapes),
  };
}

/** The graph's `edges` input (§6): gated (m, 255 - m); ungated (255, 0) selects every pixel. */
export function boundaryEdges(blob) {
  return blob.gated
    ? new Float32Array([blob.boundaryMargin, 255 - blob.boundaryMargin])
    : new Float32Array([255, 0]);
}
