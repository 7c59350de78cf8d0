// Restore a carrier on any onnxruntime JavaScript build (onnxruntime-node or onnxruntime-web: the
// same Tensor / InferenceSession API), following docs/blob-format.md §4.2 and §6.

import { boundaryEdges, GamutError, readBlob } from './blob.js';
import { readCarrier } from './carrier.js';
import { clippedProPhoto, TO_PROPHOTO } from './colour.js';
import { contextGrids, emptyGrids, graphW1 } from './context.js';
import { applyMap, MAP_IGNORED, openMap } from './residualmap.js';

export const DEFAULT_TILE = 512; // as the reference runtime; results do not depend on it (§5)
export const NO_MODEL =
  'no gamut-onnx model in this file: decoding as plain sRGB (clip-and-expand)';
export const EDITED = 'pixels changed after encoding (edited?): restore quality is not guaranteed';
export const WEAK_JPEG_DIGEST =
  "this model (blob format 1) cannot tell whether the JPEG's APP0/APP14 segments were changed " +
  '(they alter the decoded colours): re-encode to get the full check';
export const NOT_FINITE = 'restore produced non-finite values; refusing the output';

/**
 * @typedef {object} Restored
 * @property {number} width
 * @property {number} height
 * @property {Float32Array} data H*W*3 linear ProPhoto RGB (D50, no transfer curve) in [0, 1]
 * @property {Uint8Array} [alpha] H*W straight 8-bit alpha, when the carrier has one
 * @property {string[]} warnings
 * @property {import('./blob.js').Blob|null} blob
 * @property {import('./carrier.js').Carrier} carrier
 * @property {boolean|null} digestOk pixel digest matched (null: no blob)
 */

/**
 * @callback Sha256
 * @param {Uint8Array[]} parts
 * @returns {Promise<Uint8Array>|Uint8Array}
 */

const equalBytes = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** §4.2 item 4: a blob fitted for another size is an error, whatever the digest says. */
function checkFittedSize(blob, width, height) {
  if (blob.imageWidth !== width || blob.imageHeight !== height) {
    throw new GamutError(
      `model was fitted for a ${blob.imageWidth}x${blob.imageHeight} image, ` +
        `but the pixels are ${width}x${height} (resized after encoding?)`,
    );
  }
}

/**
 * Read carrier, blob and digest check (§4.2 items 1-3 and 5, and item 4 with `fitted`). The blob
 * is checked from the carrier's header, before its pixels are decoded, so a broken or
 * mismatched blob costs no decoding.
 * @param {Uint8Array} bytes
 * @param {Sha256} sha256
 * @param {import('./blob.js').Inflate} [inflate] for the blob's source ICC record (§3.1)
 * @param {{maxPixels?: number, fitted?: boolean}} [options] maxPixels: the size limit (default
 *   250 MP); fitted: also refuse a blob fitted for another size (item 4)
 */
export async function openCarrier(bytes, sha256, inflate, { maxPixels, fitted = false } = {}) {
  let blob = null;
  const check = (header) => {
    if (!header.blob) return;
    blob = readBlob(header.blob, { inflate }); // item 3
    if (fitted) checkFittedSize(blob, header.width, header.height);
  };
  const carrier = await readCarrier(bytes, { maxPixels, check }); // item 1: several gmLP chunks
  if (!blob) return { carrier, blob, digestOk: null, warnings: [...carrier.notes, NO_MODEL] };
  blob.sourceIcc = await blob.sourceIcc; // an asynchronous inflater (the page's) ends here
  // The digest of the blob's version: version 1 left APP0/APP14 out of the JPEG one.
  const parts = blob.formatVersion >= 2 ? carrier.digestParts : carrier.legacyDigestParts;
  const digestOk = equalBytes(await sha256(parts), blob.pixelDigest);
  const warnings = [...carrier.notes];
  if (!digestOk) warnings.push(EDITED);
  if (carrier.format === 'jpeg' && blob.formatVersion < 2) warnings.push(WEAK_JPEG_DIGEST);
  return { carrier, blob, digestOk, warnings };
}

/**
 * Restore wide-gamut colour from carrier bytes.
 * @param {object} ort the onnxruntime module (for its Tensor class)
 * @param {object} session an InferenceSession over restore.onnx
 * @param {Uint8Array} bytes the carrier file
 * @param {{sha256: Sha256, inflate?: import('./blob.js').Inflate, tile?: number,
 *   strict?: boolean, maxPixels?: number}} options strict: warnings are errors; inflate: for
 *   the source ICC record; maxPixels: refuse larger images from their header (default 250 MP)
 * @returns {Promise<Restored>}
 */
export async function restoreWith(
  ort,
  session,
  bytes,
  { sha256, inflate, tile = DEFAULT_TILE, strict = false, maxPixels },
) {
  const opened = await openCarrier(bytes, sha256, inflate, { maxPixels, fitted: true });
  const { carrier, blob, digestOk, warnings } = opened;
  const { width, height, rgb } = carrier;
  let map = null;
  if (carrier.residualMap) {
    const found = blob
      ? await openMap(carrier.residualMap, width, height, carrier.blob, sha256)
      : { map: null, warning: `${MAP_IGNORED}: the file has no model for it to correct` };
    if (found.warning) warnings.push(found.warning);
    map = found.map;
  }
  if (strict && warnings.length) throw new GamutError(warnings[0]);
  const data = blob
    ? await runGraph(ort, session, rgb, width, height, blob, tile)
    : clippedProPhoto(rgb);
  if (map) applyMap(data, rgb, blob, map);
  const out = { width, height, data, warnings, blob, carrier, digestOk, residualMap: !!map };
  if (carrier.alpha) out.alpha = carrier.alpha;
  return out;
}

/**
 * Run the fixed graph tile by tile; every tile gets its origin in the full image (§5 step 3).
 * The output must be finite (§3): bounded weights guarantee it, so anything else is a fault.
 */
async function runGraph(ort, session, rgb, width, height, blob, tile) {
  if (!(tile >= 16)) throw new GamutError(`tile size ${tile} is too small (minimum 16)`);
  const feeds = {
    image_size: new ort.Tensor('int64', BigInt64Array.from([BigInt(height), BigInt(width)]), [2]),
    edges: new ort.Tensor('float32', boundaryEdges(blob), [2]),
    to_prophoto: new ort.Tensor('float32', TO_PROPHOTO[blob.carrierTransform], [3, 3]),
  };
  for (const [name, values] of Object.entries(blob.weights)) {
    feeds[name] = new ort.Tensor('float32', values, blob.shapes[name]);
  }
  const w1 = graphW1(blob);
  feeds.w1 = new ort.Tensor('float32', w1.values, w1.shape);
  const grids = blob.context ? contextGrids(rgb, width, height) : emptyGrids();
  feeds.context = new ort.Tensor('float32', grids.values, [grids.cells, 4]);
  feeds.context_layout = new ort.Tensor('int64', grids.layout, [4, 4]);
  const out = new Float32Array(width * height * 3);
  for (let r = 0; r < height; r += tile) {
    for (let c = 0; c < width; c += tile) {
      const th = Math.min(tile, height - r);
      const tw = Math.min(tile, width - c);
      const pixels = new Uint8Array(th * tw * 3);
      for (let y = 0; y < th; y++) {
        const from = ((r + y) * width + c) * 3;
        pixels.set(rgb.subarray(from, from + tw * 3), y * tw * 3);
      }
      feeds.srgb8 = new ort.Tensor('uint8', pixels, [th, tw, 3]);
      feeds.origin = new ort.Tensor('int64', BigInt64Array.from([BigInt(r), BigInt(c)]), [2]);
      const result = (await session.run(feeds)).prophoto.data;
      if (!result.every(Number.isFinite)) throw new GamutError(NOT_FINITE);
      for (let y = 0; y < th; y++) {
        out.set(result.subarray(y * tw * 3, (y + 1) * tw * 3), ((r + y) * width + c) * 3);
      }
    }
  }
  return out;
}

/**
 * What a carrier holds: the keys of `gamut-onnx inspect --json` (less `file`).
 * @param {Uint8Array} bytes
 * @param {Sha256} sha256
 * @param {import('./blob.js').Inflate} [inflate]
 * @param {{maxPixels?: number}} [options]
 */
export async function inspectWith(bytes, sha256, inflate, { maxPixels } = {}) {
  const { carrier, blob, digestOk } = await openCarrier(bytes, sha256, inflate, { maxPixels });
  return facts(carrier, blob, digestOk);
}

/** inspect's fields from an opened carrier (the page shows them too). */
export function facts(carrier, blob, digestOk) {
  const info = {
    carrier: carrier.format,
    image_width: carrier.width,
    image_height: carrier.height,
    alpha: carrier.alpha !== null,
    has_model: blob !== null,
  };
  if (!blob) return info;
  return Object.assign(info, {
    blob_bytes: blob.byteLength,
    format_version: blob.formatVersion,
    width: blob.width,
    hidden_layers: blob.hiddenLayers,
    octaves: blob.octaves,
    context: blob.context,
    weight_dtype: blob.weightDtype,
    source_space: blob.sourceSpace,
    source_icc_bytes: blob.sourceIcc?.length ?? 0,
    carrier_transform: blob.carrierTransform,
    gated: blob.gated,
    boundary_margin: blob.boundaryMargin,
    model_image_size: [blob.imageWidth, blob.imageHeight],
    blob_crc32: blob.crc32.toString(16).padStart(8, '0'),
    pixel_digest: hex(blob.pixelDigest),
    pixel_digest_ok: digestOk,
  });
}
