// The optional residual map beside the blob (docs/blob-format.md §9): its header and its AVIF,
// checked against the carrier before decoding, then decoded to the samples restore.onnx applies
// at the gated pixels (its `map_samples` and `map_params` inputs, §6.4 step 5). libavif in
// WebAssembly (@jsquash/avif) decodes them; AV1 decoding is bit-exact and the identity matrix
// leaves no colour conversion, so they are the reference decoder's samples.

import decodeAvifImage, { init as initAvifImage } from '@jsquash/avif/decode.js';

import { GamutError } from './blob.js';

export const MAP_IGNORED = 'residual map ignored';
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
  const [version, flags] = [payload[4], payload[5]];
  if (version !== 1 || flags) {
    throw new GamutError(`residual map version ${version} (flags ${flags}) is not supported`);
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

/** ISOBMFF boxes of bytes[start, end): {type, start (of the payload), end}. */
function* boxes(bytes, start, end) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let pos = start; pos < end; ) {
    if (pos + 8 > end) throw new GamutError('residual map AVIF is damaged (a box is cut short)');
    let size = dv.getUint32(pos);
    let head = 8;
    if (size === 1) {
      if (pos + 16 > end) throw new GamutError('residual map AVIF is damaged (box size)');
      size = Number(dv.getBigUint64(pos + 8));
      head = 16;
    } else if (size === 0) {
      size = end - pos;
    }
    if (size < head || pos + size > end) {
      throw new GamutError('residual map AVIF is damaged (a box runs past its parent)');
    }
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    yield { type, start: pos + head, end: pos + size };
    pos += size;
  }
}

const child = (bytes, box, type, skip = 0) =>
  [...boxes(bytes, box.start + skip, box.end)].find((b) => b.type === type);

/** The `ispe` sizes in the AVIF's property container (meta > iprp > ipco), from its header. */
export function avifSizes(avif) {
  const top = [...boxes(avif, 0, avif.length)];
  const ftyp = top.find((b) => b.type === 'ftyp');
  const brands = ftyp ? String.fromCharCode(...avif.subarray(ftyp.start, ftyp.end)) : '';
  if (!top.length || top[0].type !== 'ftyp' || !/avif|avis/.test(brands)) {
    throw new GamutError('residual map does not hold an AVIF image');
  }
  const meta = top.find((b) => b.type === 'meta');
  const iprp = meta && child(avif, meta, 'iprp', 4); // meta is a full box
  const ipco = iprp && child(avif, iprp, 'ipco');
  if (!ipco) throw new GamutError('residual map AVIF has no item properties');
  const dv = new DataView(avif.buffer, avif.byteOffset, avif.byteLength);
  return [...boxes(avif, ipco.start, ipco.end)]
    .filter((b) => b.type === 'ispe' && b.end - b.start >= 12)
    .map((b) => [dv.getUint32(b.start + 4), dv.getUint32(b.start + 8)]);
}

/**
 * @callback DecodeAvif an AVIF decoder: @jsquash/avif here, or the same in a worker (Node)
 * @param {Uint8Array} avif
 * @returns {Promise<{width: number, height: number, channels?: 3|4,
 *   data: Uint8ClampedArray|Uint8Array}>} RGBA samples, or RGB with channels 3
 */

/**
 * The checked map of a carrier with its decoded samples (H*W*3), or a warning why not.
 * @param {Uint8Array} payload
 * @param {number} width
 * @param {number} height
 * @param {Uint8Array} blobBytes the carrier's blob, as stored
 * @param {import('./restore.js').Sha256} sha256
 * @param {DecodeAvif} [decodeAvif]
 * @returns {Promise<{map: object|null, warning: string|null}>}
 */
export async function openMap(payload, width, height, blobBytes, sha256, decodeAvif) {
  try {
    const map = readMapHeader(payload);
    if (map.width !== width || map.height !== height) {
      throw new GamutError(
        `residual map is ${map.width}x${map.height}, the image ${width}x${height}`,
      );
    }
    const digest = (await sha256([blobBytes])).subarray(0, 8);
    if (!digest.every((b, i) => b === map.blobDigest[i])) {
      throw new GamutError('residual map belongs to another model (blob digest differs)');
    }
    const sizes = avifSizes(map.avif);
    if (!sizes.length || sizes.some(([w, h]) => w !== width || h !== height)) {
      const said = sizes.map(([w, h]) => `${w}x${h}`).join(', ') || 'no size';
      throw new GamutError(`residual map's AVIF is ${said}, not ${width}x${height}`);
    }
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
