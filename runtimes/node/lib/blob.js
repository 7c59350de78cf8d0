// The weight blob, versions 1 to 3, read from the normative text of docs/blob-format.md
// (§1-§4.1).
// Shared by the Node package and the browser page: plain ESM, no Node built-ins (the caller hands
// in the zlib inflater for the source ICC record).

import { crc32 } from './crc32.js';
import { parseLattice, RECORD_LATTICE } from './lattice.js';

export class GamutError extends Error {
  name = 'GamutError';
}

export const FORMAT_VERSION = 2;
export const HEADER_BYTES = 64;
const MAGIC = 'GAMUTMLP';
const DTYPES = { 1: { name: 'float16', size: 2 }, 2: { name: 'float32', size: 4 } };
const WIDTHS = [16, 32, 64, 128];
const FLAG_GATED = 1;
const FLAG_RECORDS = 2;
/** Every weight is within the float16 range, so a restore cannot overflow (§3). */
export const MAX_WEIGHT = 65504;
/** Record type 128: the zlib-deflated ICC profile of the photo's own colour space (§3.1). */
export const RECORD_SOURCE_ICC = 128;
/** Record type 129: SHA-256 of the carrier's residual map, blob-digest field zeroed (§3.1). */
export const RECORD_MAP_DIGEST = 129;
/** Record type 130: the JPEG carrier's coefficient digest (§4.3). */
export const RECORD_JPEG_DIGEST = 130;
/** Bound on the inflated source ICC profile, as the reference reader's. */
export const MAX_ICC_BYTES = 4 << 20;

/** The photo's own colour space (§2, bytes 13 and 23), named as gamut_onnx.blob names them. */
export const PRIMARIES_CODES = {
  1: 'prophoto',
  2: 'bt709',
  3: 'p3',
  4: 'adobe',
  5: 'bt2020',
  255: 'icc',
};
export const TRANSFER_CODES = {
  0: 'icc',
  1: 'linear',
  2: 'srgb',
  3: 'romm',
  4: 'gamma22',
  5: 'bt709',
  6: 'pq',
  7: 'hlg',
};
/** gamut-onnx's named spaces (colour/spaces.py NAMED_SPACES): primaries/transfer -> name. */
const NAMED_SPACES = {
  'prophoto/romm': 'prophoto',
  'prophoto/linear': 'prophoto-linear',
  'p3/srgb': 'display-p3',
  'adobe/gamma22': 'adobe-rgb',
  'bt2020/bt709': 'rec2020',
  'bt2020/pq': 'rec2020-pq',
  'bt2020/hlg': 'rec2020-hlg',
  'bt709/srgb': 'srgb',
  'bt709/linear': 'srgb-linear',
};

/**
 * @typedef {object} Blob
 * @property {number} formatVersion 1 or 2
 * @property {'float16'|'float32'} weightDtype
 * @property {number} hiddenLayers
 * @property {number} octaves L
 * @property {boolean} context input layout 2: the MLP also sees the carrier's block means
 * @property {number} width D
 * @property {boolean} gated flags bit 0
 * @property {number} boundaryMargin m
 * @property {number} imageWidth
 * @property {number} imageHeight
 * @property {Uint8Array} pixelDigest SHA-256 of the carrier pixels (§4.2)
 * @property {number} carrierTransform matrices of §5 step 2: 1 legacy (version 1), 2 CAT02
 * @property {string} sourcePrimaries the photo's own primaries (PRIMARIES_CODES; 'icc')
 * @property {string} sourceTransfer the photo's own transfer (TRANSFER_CODES; 'icc')
 * @property {string} sourceSpace as `gamut-onnx inspect`: a named space ('prophoto',
 *   'display-p3', ...), else 'primaries/transfer', or 'icc'
 * @property {Uint8Array|Promise<Uint8Array>|null} sourceIcc the inflated source ICC profile
 *   (record 128); null without one or when readBlob got no inflater; a Promise while an
 *   asynchronous inflater runs
 * @property {Uint8Array|null} residualMapDigest SHA-256 of the carrier's residual map (record
 *   129), in blobs written with one
 * @property {Uint8Array|null} jpegDigest the JPEG carrier's coefficient digest (record 130)
 * @property {import('./lattice.js').Lattice|null} lattice the source's code lattice (record 131)
 * @property {number} crc32
 * @property {number} byteLength
 * @property {{w1: Float32Array, b1: Float32Array, w2: Float32Array, b2: Float32Array,
 *   w3: Float32Array, b3: Float32Array}} weights row-major, matrices stored [in, out]
 * @property {{w1: number[], b1: number[], w2: number[], b2: number[], w3: number[],
 *   b3: number[]}} shapes
 */

/**
 * @callback Inflate zlib (RFC 1950) inflation bounded to `maxBytes` of output
 * @param {Uint8Array} deflated
 * @param {number} maxBytes
 * @returns {Uint8Array|null|Promise<Uint8Array|null>} null: truncated stream or over maxBytes;
 *   throws (or rejects) on corrupt data
 */

/** Payload arrays in storage order (§3), F = 10 L, plus 16 context rows for input layout 2. */
export function weightShapes(width, octaves, context = false) {
  const f = 10 * octaves + (context ? 16 : 0);
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

/** Python's space_name(): a named space, else 'primaries/transfer'. */
function spaceName(primaries, transfer) {
  if (primaries === 'icc') return 'icc';
  return NAMED_SPACES[`${primaries}/${transfer}`] ?? `${primaries}/${transfer}`;
}

/** The inflated ICC profile (or its Promise), with the §4.1 step-18 reasons on failure. */
function inflateIcc(deflated, inflate) {
  const checked = (icc) => {
    if (!icc) throw fail('source ICC record is truncated or inflates past 4 MB');
    return icc;
  };
  const corrupt = (err) => {
    throw err instanceof GamutError ? err : fail(`source ICC record is corrupt (${err.message})`);
  };
  let icc;
  try {
    icc = inflate(deflated, MAX_ICC_BYTES);
  } catch (err) {
    corrupt(err);
  }
  if (!(icc instanceof Promise)) return checked(icc);
  const pending = icc.then(checked, corrupt);
  pending.catch(() => {}); // awaited by the caller; not an unhandled rejection if readBlob fails
  return pending;
}

/**
 * Records (§3.1): the source ICC profile, the residual map's digest and the JPEG coefficient
 * digest; unknown ancillary types (>= 128) are skipped, unknown critical ones (< 128) need a
 * newer reader.
 * @returns {{found: boolean, icc: Uint8Array|Promise<Uint8Array>|null,
 *   mapDigest: Uint8Array|null, jpegDigest: Uint8Array|null,
 *   lattice: import('./lattice.js').Lattice|null}}
 */
function readRecords(bytes, inflate) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let found = false;
  let icc = null;
  let mapDigest = null;
  let jpegDigest = null;
  let lattice = null;
  let pos = 0;
  while (pos < bytes.length) {
    if (pos + 5 > bytes.length) throw fail('truncated record header');
    const type = bytes[pos];
    const length = dv.getUint32(pos + 1, true);
    pos += 5;
    if (length > bytes.length - pos) throw fail(`record of ${length} bytes runs past the blob`);
    const payload = bytes.subarray(pos, pos + length);
    pos += length;
    if (type === RECORD_SOURCE_ICC) {
      found = true;
      icc = inflate ? inflateIcc(payload, inflate) : null;
    } else if (type === RECORD_MAP_DIGEST) {
      if (length !== 32) throw fail(`residual map digest record is ${length} bytes, not 32`);
      mapDigest = payload.slice();
    } else if (type === RECORD_JPEG_DIGEST) {
      if (length !== 32) throw fail(`JPEG coefficient digest record is ${length} bytes, not 32`);
      jpegDigest = payload.slice();
    } else if (type === RECORD_LATTICE) {
      if (lattice) throw fail('two lattice records');
      lattice = parseLattice(payload, fail);
    } else if (type < 128) {
      throw fail(`record type ${type} needs a newer gamut-onnx`);
    }
  }
  return { found, icc, mapDigest, jpegDigest, lattice };
}

/**
 * Validate a raw weight blob, version 1, 2 or 3 (checks of §4.1, in the spec's order), and unpack it.
 * @param {Uint8Array} bytes
 * @param {{inflate?: Inflate}} [options] inflate: zlib inflater for the source ICC record; without
 *   one the record's framing is checked but the profile is not inflated (sourceIcc stays null)
 * @returns {Blob}
 */
export function readBlob(bytes, { inflate } = {}) {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('readBlob expects a Uint8Array');
  const n = bytes.length;
  if (n < HEADER_BYTES + 4) throw fail(`truncated (${n} bytes, header alone needs 68)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, n);
  const magic = bytes.subarray(0, 8);
  if (String.fromCharCode(...magic) !== MAGIC) {
    throw fail(`bad magic ${pyBytes(magic)} (expected b'GAMUTMLP')`);
  }
  const version = dv.getUint16(8, true);
  if (version !== 1 && version !== 2 && version !== 3) {
    throw fail(`format version ${version} is not supported (this build reads 1 to 3)`);
  }
  const headerBytes = dv.getUint16(10, true);
  if (headerBytes !== HEADER_BYTES) throw fail(`header size ${headerBytes} (expected 64)`);
  const dtypeCode = bytes[12];
  if (!DTYPES[dtypeCode]) throw fail(`unknown weight dtype code ${dtypeCode}`);
  const [primaries, transform, transfer] = [bytes[13], bytes[14], bytes[23]];
  const flags = dv.getUint16(20, true);
  const hex = flags.toString(16).padStart(4, '0');
  let source;
  if (version === 1) {
    // §1.1: one source space (restore into ProPhoto), the legacy matrices, no records.
    if (primaries !== 1) throw fail(`unknown source colour space code ${primaries}`);
    if (transform !== 1) throw fail(`unknown carrier transform code ${transform}`);
    if ((flags & ~FLAG_GATED) !== 0 || transfer !== 0) {
      throw fail(`unknown flags 0x${hex} or non-zero reserved field`);
    }
    source = ['prophoto', 'romm'];
  } else {
    if (!(primaries in PRIMARIES_CODES) || !(transfer in TRANSFER_CODES)) {
      throw fail(`unknown source colour space codes ${primaries}/${transfer}`);
    }
    if ((primaries === 255) !== (transfer === 0)) {
      throw fail(`source colour space codes ${primaries}/${transfer} disagree`);
    }
    if (transform !== 1 && transform !== 2) {
      throw fail(`unknown carrier transform code ${transform}`);
    }
    if ((flags & ~(FLAG_GATED | FLAG_RECORDS)) !== 0) throw fail(`unknown flags 0x${hex}`);
    source = [PRIMARIES_CODES[primaries], TRANSFER_CODES[transfer]];
  }
  const layout = bytes[15];
  if (layout !== 1 && !(layout === 2 && version === 3)) {
    throw fail(`unknown input layout code ${layout}`);
  }
  const context = layout === 2;
  const hiddenLayers = bytes[16];
  if (hiddenLayers !== 2) throw fail(`${hiddenLayers} hidden layers (this runtime supports 2)`);
  const octaves = bytes[17];
  const width = dv.getUint16(18, true);
  if (!WIDTHS.includes(width)) throw fail(`width ${width} (supported: 16, 32, 64, 128)`);
  if (octaves < 1 || octaves > 16) throw fail(`${octaves} octaves (supported: 1..16)`);
  const margin = bytes[22];
  if (margin > 64) throw fail(`boundary margin ${margin} (supported: 0..64)`);
  const imageWidth = dv.getUint32(24, true);
  const imageHeight = dv.getUint32(28, true);
  if (imageWidth === 0 || imageHeight === 0) throw fail(`image size ${imageWidth}x${imageHeight}`);
  const { name: weightDtype, size } = DTYPES[dtypeCode];
  const count = width * (10 * octaves + (context ? 16 : 0) + width + 5) + 3; // N (§3)
  const weightsEnd = HEADER_BYTES + count * size;
  const expected = weightsEnd + 4;
  const hasRecords = (flags & FLAG_RECORDS) !== 0;
  if (n !== expected && !(hasRecords && n > expected)) {
    throw fail(`${n} bytes, but its header describes ${expected} (truncated?)`);
  }
  const stored = dv.getUint32(n - 4, true);
  if (stored !== crc32(bytes.subarray(0, n - 4))) {
    throw fail('CRC32 mismatch (the blob is corrupted)');
  }

  const all = new Float32Array(count);
  let exceeds = false;
  for (let i = 0; i < count; i++) {
    const at = HEADER_BYTES + i * size;
    all[i] = size === 2 ? halfToFloat(dv.getUint16(at, true)) : dv.getFloat32(at, true);
    if (!Number.isFinite(all[i])) throw fail('weights contain NaN or infinity');
    if (Math.abs(all[i]) > MAX_WEIGHT) exceeds = true; // reported once all are known finite
  }
  if (exceeds) throw fail('weights exceed +-65504 (a restore could overflow)');
  const records = hasRecords
    ? readRecords(bytes.subarray(weightsEnd, n - 4), inflate)
    : { found: false, icc: null, mapDigest: null };
  if ((source[0] === 'icc') !== records.found) {
    throw fail('source colour space says ICC, but there is no profile record, or vice versa');
  }
  const shapes = weightShapes(width, octaves, context);
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
    context,
    gated: (flags & FLAG_GATED) !== 0,
    boundaryMargin: margin,
    imageWidth,
    imageHeight,
    pixelDigest: bytes.slice(32, 64),
    carrierTransform: transform,
    sourcePrimaries: source[0],
    sourceTransfer: source[1],
    sourceSpace: spaceName(source[0], source[1]),
    sourceIcc: records.icc,
    residualMapDigest: records.mapDigest,
    jpegDigest: records.jpegDigest ?? null,
    lattice: records.lattice ?? null,
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
