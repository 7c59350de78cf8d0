// The optional residual map beside the blob (docs/blob-format.md §9): its header and its AVIF,
// checked against the carrier before decoding, then decoded to the samples restore.onnx applies
// at the gated pixels (its `map_samples` and `map_params` inputs, §6.4 step 5). libavif in
// WebAssembly (@jsquash/avif) decodes them; AV1 decoding is bit-exact and the identity matrix
// leaves no colour conversion, so they are the reference decoder's samples.

import decodeAvifImage, { init as initAvifImage } from '@jsquash/avif/decode.js';

import { GamutError } from './blob.js';
import { MAP_IGNORED } from './limits.js';
import { checkMapAvif } from './mapavif.js';

export { MAP_IGNORED };
const HEADER_BYTES = 32;

/** The decoder's WebAssembly module and Emscripten options (Node hands it the module). */
export function configureAvifDecoder(module, options) {
  return initAvifImage(module, options);
}

/** Header fields (§9 table), each checked; throws GamutError with the reference's wording. */
export function readMapHeader(payload) {
  if (payload.length < HEADER_BYTES + 1) {
    throw new GamutError(`residual map is ${payload.length} bytes, too short to hold one`);
  }
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (String.fromCharCode(...payload.subarray(0, 4)) !== 'GMRM') {
    throw new GamutError('residual map does not start with GMRM');
  }
  const [version, flags, reserved] = [payload[4], payload[5], dv.getUint16(6, true)];
  if (version !== 1 || flags || reserved) {
    throw new GamutError(
      `residual map version ${version} (flags ${flags}, reserved ${reserved}) is not supported`,
    );
  }
  const scale = dv.getFloat32(16, true);
  const power = dv.getFloat32(20, true);
  if (!(Number.isFinite(scale) && scale > 0 && scale <= 1)) {
    throw new GamutError(`residual map scale ${scale} is outside (0, 1]`);
  }
  if (!(Number.isFinite(power) && power >= 0 && power <= 1)) {
    throw new GamutError(`residual map weight power ${power} is outside [0, 1]`);
  }
  return {
    height: dv.getUint32(8, true),
    width: dv.getUint32(12, true),
    scale,
    power,
    blobDigest: payload.subarray(24, 32),
    avif: payload.subarray(HEADER_BYTES),
  };
}

/**
 * @callback DecodeAvif an AVIF decoder: @jsquash/avif here, or the same in a worker (Node)
 * @param {Uint8Array} avif
 * @returns {Promise<{width: number, height: number, channels?: 3|4,
 *   data: Uint8ClampedArray|Uint8Array}>} RGBA samples, or RGB with channels 3
 */

/** SHA-256 of the packed map with its blob-digest field zeroed: what blob record 129 holds. */
export async function mapDigest(payload, sha256) {
  return sha256([payload.subarray(0, 24), new Uint8Array(8), payload.subarray(HEADER_BYTES)]);
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The checked map of a carrier with its decoded samples (H*W*3), or a warning why not. Checks
 * in the reference's order: header, recorded digest, size, blob digest, AVIF profile.
 * @param {Uint8Array} payload
 * @param {number} width
 * @param {number} height
 * @param {Uint8Array} blobBytes the carrier's blob, as stored
 * @param {Uint8Array|null} recorded the map digest the blob records (record 129), if any
 * @param {import('./restore.js').Sha256} sha256
 * @param {DecodeAvif} [decodeAvif]
 * @returns {Promise<{map: object|null, warning: string|null}>}
 */
export async function openMap(payload, width, height, blobBytes, recorded, sha256, decodeAvif) {
  try {
    const map = readMapHeader(payload);
    if (recorded && !same(await mapDigest(payload, sha256), recorded)) {
      throw new GamutError('residual map was changed after encoding (its digest differs)');
    }
    if (map.width !== width || map.height !== height) {
      throw new GamutError(
        `residual map is ${map.width}x${map.height}, the image ${width}x${height}`,
      );
    }
    const digest = (await sha256([blobBytes])).subarray(0, 8);
    if (!same(digest, map.blobDigest)) {
      throw new GamutError('residual map belongs to another model (blob digest differs)');
    }
    checkMapAvif(map.avif, width, height);
    let image;
    try {
      image = await (decodeAvif ?? decodeAvifImage)(map.avif.slice());
    } catch (err) {
      throw new GamutError(`residual map's AVIF cannot be decoded (${err?.message ?? err})`);
    }
    if (!image || image.width !== width || image.height !== height) {
      throw new GamutError('residual map decodes to another size');
    }
    let samples = image.data; // RGB already from a decoder that says so
    if (image.channels !== 3) {
      samples = new Uint8Array(width * height * 3);
      for (let i = 0, j = 0; i < samples.length; i += 3, j += 4) {
        samples[i] = image.data[j];
        samples[i + 1] = image.data[j + 1];
        samples[i + 2] = image.data[j + 2];
      }
    }
    return { map: { ...map, samples }, warning: null };
  } catch (err) {
    if (!(err instanceof GamutError)) throw err;
    return { map: null, warning: `${MAP_IGNORED}: ${err.message}` };
  }
}
