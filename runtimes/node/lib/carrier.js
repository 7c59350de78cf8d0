// Carrier containers (docs/blob-format.md §7): detect the format, read its header and blob
// (png.js, tiff.js, jpeg.js), refuse an image over the pixel limit from that header, let the
// caller check the blob, and only then decode the pixels and collect what the pixel digest
// (§4.2) is computed over. Shared by Node and the browser page.
//
// PNG and TIFF are decoded here, by hand, on the platform's DecompressionStream: the npm decoders
// trusted what the file claims (the last IHDR, tag counts, strip sizes), zero-filled short data,
// inflated metadata without bound or printed to stdout. JPEG pixels come from libjpeg-turbo
// (@jsquash/jpeg), bit-identical to the reference decoder.

import { GamutError } from './blob.js';
import { decodeJpeg, probeJpeg } from './jpeg.js';
import { checkPixels, DEFAULT_MAX_PIXELS, oneLine } from './limits.js';
import { decodePng, probePng } from './png.js';
import { decodeTiff, probeTiff, TIFF_BLOB_TAG } from './tiff.js';

export { TIFF_BLOB_TAG };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const TIFF_MAGICS = ['49492a00', '4d4d002a', '49492b00', '4d4d002b'];
const READERS = {
  png: [probePng, decodePng],
  tiff: [probeTiff, decodeTiff],
  jpeg: [probeJpeg, decodeJpeg],
};

/**
 * @typedef {object} CarrierHeader what the header says, before any pixel is decoded
 * @property {'png'|'tiff'|'jpeg'} format
 * @property {number} width
 * @property {number} height
 * @property {Uint8Array|null} blob
 * @property {Uint8Array|null} residualMap the optional residual map's payload (§9)
 * @property {string|null} modelDamage why the model's container cannot be read (blob null)
 */

/**
 * @typedef {object} Carrier
 * @property {'png'|'tiff'|'jpeg'} format
 * @property {number} width
 * @property {number} height
 * @property {Uint8Array} rgb H*W*3 decoded 8-bit sRGB, row-major, interleaved
 * @property {Uint8Array|null} alpha H*W straight alpha, or null
 * @property {Uint8Array|null} blob the raw weight blob, or null when the file has none
 * @property {Uint8Array|null} residualMap the optional residual map's payload (§9; PNG, JPEG)
 * @property {string|null} modelDamage why the model's container cannot be read (blob null)
 * @property {string[]} notes soft problems with the metadata, for the warnings (a TIFF blob tag
 *   another program rewrote)
 * @property {Uint8Array[]} digestParts the bytes the pixel digest hashes, in order (§4.2)
 * @property {Uint8Array[]} legacyDigestParts the same for version-1 blobs (JPEG: without the
 *   APP0/APP14 segments; PNG, TIFF: digestParts)
 * @property {Uint8Array|null} jpegBytes a JPEG's file, for its coefficient digest (§4.3)
 */

/** Container by magic bytes, never by file name (§7). */
export function detectFormat(bytes) {
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'jpeg';
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
  if (TIFF_MAGICS.includes(head)) return 'tiff';
  return null;
}

/** Run a reading step; the decoders' own failures become one line. */
async function guarded(format, step) {
  try {
    return await step();
  } catch (err) {
    if (err instanceof GamutError) throw err;
    // Allocation failures, DataView reads past the end, ...: one printable line of theirs.
    const detail = oneLine(err?.message ?? err);
    const name = format.toUpperCase();
    throw new GamutError(`cannot read ${name}: file is truncated or corrupt (${detail})`);
  }
}

/**
 * Decode a carrier file: header first (pixel limit, then `check`), then the pixels.
 * @param {Uint8Array} bytes
 * @param {{maxPixels?: number, check?: (header: CarrierHeader) => void|Promise<void>}} [options]
 *   maxPixels: refuse larger images from their header (default 250 MP); check: called with the
 *   header before any pixel is decoded (e.g. to validate the blob), may throw
 * @returns {Promise<Carrier>}
 */
export async function readCarrier(bytes, { maxPixels = DEFAULT_MAX_PIXELS, check } = {}) {
  const format = detectFormat(bytes);
  if (!format) throw new GamutError('not a PNG, TIFF or JPEG carrier');
  const [probe, decode] = READERS[format];
  const head = await guarded(format, () => probe(bytes, maxPixels));
  const { width, height, channels, blob } = head;
  checkPixels(format.toUpperCase(), width, height, maxPixels);
  const residualMap = head.residualMap ?? null;
  const modelDamage = head.modelDamage ?? null;
  if (check) await check({ format, width, height, blob, residualMap, modelDamage });
  const pixels = await guarded(format, () => decode(head));
  if (pixels.length !== width * height * channels) {
    throw new GamutError(
      `${format.toUpperCase()} decodes to another number of samples than its header says`,
    );
  }
  const { rgb, alpha } = splitAlpha(pixels, width * height, channels);
  return {
    format,
    width,
    height,
    rgb,
    alpha,
    blob,
    notes: head.notes,
    residualMap,
    modelDamage,
    digestParts: head.digestParts ?? [rgb],
    legacyDigestParts: head.legacyDigestParts ?? [rgb],
    jpegBytes: format === 'jpeg' ? bytes : null,
  };
}

/** Split interleaved RGB(A) samples into rgb and alpha planes. */
function splitAlpha(data, count, channels) {
  if (channels === 3) return { rgb: data, alpha: null };
  const rgb = new Uint8Array(count * 3);
  const alpha = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    rgb[3 * i] = data[4 * i];
    rgb[3 * i + 1] = data[4 * i + 1];
    rgb[3 * i + 2] = data[4 * i + 2];
    alpha[i] = data[4 * i + 3];
  }
  return { rgb, alpha };
}
