// Restore a carrier on any onnxruntime JavaScript build (onnxruntime-node or onnxruntime-web: the
// same Tensor / InferenceSession API), following docs/blob-format.md §4.2 and §6.4. Every
// per-pixel step runs in the shipped graphs: grids.onnx (the context grids), restore.onnx (the
// carrier tile -> linear ProPhoto, residual map included); this file only reads, checks, feeds
// and tiles.

import { boundaryEdges, GamutError } from './blob.js';
import { computeGrids, unusedGrids } from './grids.js';
import { latticeFeeds } from './lattice.js';
import { MAP_MISSING, NOT_FINITE, openCarrier } from './opencarrier.js';
import { ordered } from './ordered.js';
import { fittedPixels, turn } from './orientation.js';
import { MAP_IGNORED, openMap } from './residualmap.js';

export { computeGrids, GRID_NAMES, GRID_ROWS } from './grids.js';

export {
  EDITED,
  MAP_MISSING,
  MODEL_IGNORED,
  modelIgnored,
  NO_MODEL,
  NOT_FINITE,
  openCarrier,
  WEAK_JPEG_DIGEST,
} from './opencarrier.js';

/**
 * Pixels per restore run when no tile size is given: bands of whole rows of about this many.
 * Small runs keep the graph's temporaries in cache: 16 rows of a 12 MP photo restored in half
 * the time of 256.
 */
export const BAND_PIXELS = 1 << 16;
const WEIGHT_NAMES = ['w1', 'b1', 'w2', 'b2', 'w3', 'b3'];
// A carrier without a model: zero weights of the smallest architecture (1 octave, width 16),
// edges that select no pixel, the current carrier transform (§6.4 step 3).
const PLAIN_SHAPES = { w1: [10, 16], b1: [16], w2: [16, 16], b2: [16], w3: [16, 3], b3: [3] };
const PLAIN_EDGES = [-1, 256];
export const PLAIN_TRANSFORM = 2;

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
 * @property {boolean} residualMap the carrier's residual map (§9) was applied
 */

/**
 * @typedef {object} RestoreImage what restore.onnx is fed for one image (§6.4 steps 3-5)
 * @property {Uint8Array} rgb H*W*3 carrier pixels
 * @property {number} width
 * @property {number} height
 * @property {Record<string, object>} feeds the inputs shared by every tile (onnxruntime Tensors)
 * @property {Uint8Array|null} samples H*W*3 residual map samples, or null without a map
 * @property {number} [orientation] how the carrier file shows the fitted image (§4.4; 1: as is):
 *   the restore runs as fitted and comes out turned like the file
 */

/**
 * @typedef {object} Sessions InferenceSessions over the shipped graphs, or lib/pool.js's
 *   sessions (which also offer `warm` and `bind` and take several runs at once)
 * @property {object} restore restore.onnx
 * @property {object} [grids] grids.onnx (needed for blobs with carrier context)
 * @property {object} [output] output.onnx (for the callers that encode)
 */

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const int64 = (ort, ...values) =>
  new ort.Tensor('int64', BigInt64Array.from(values, BigInt), [values.length]);

/**
 * The model inputs of a blob (§6.4 step 3): its weights as stored (float16 already converted
 * exactly), its gate as `edges` and its `carrier_transform`.
 * @param {object} ort the onnxruntime module (for its Tensor class)
 * @param {import('./blob.js').Blob} blob
 */
export function modelFeeds(ort, blob) {
  const feeds = {
    edges: new ort.Tensor('float32', boundaryEdges(blob), [2]),
    carrier_transform: new ort.Tensor('int64', BigInt64Array.of(BigInt(blob.carrierTransform)), []),
    ...latticeFeeds(ort, blob.lattice ?? null),
  };
  for (const name of WEIGHT_NAMES) {
    feeds[name] = new ort.Tensor('float32', blob.weights[name], blob.shapes[name]);
  }
  return feeds;
}

/**
 * The model inputs of a carrier without a model: zero weights that no pixel reaches, so the graph
 * returns §5 step 2's clipped expansion with the matrix of `transform`.
 * @param {object} ort
 * @param {number} [transform] carrier transform 1 or 2 (default 2, as for files without a blob)
 */
export function plainFeeds(ort, transform = PLAIN_TRANSFORM) {
  const feeds = {
    edges: new ort.Tensor('float32', Float32Array.from(PLAIN_EDGES), [2]),
    carrier_transform: new ort.Tensor('int64', BigInt64Array.of(BigInt(transform)), []),
    ...latticeFeeds(ort, null),
  };
  for (const [name, shape] of Object.entries(PLAIN_SHAPES)) {
    const size = shape.reduce((a, b) => a * b, 1);
    feeds[name] = new ort.Tensor('float32', new Float32Array(size), shape);
  }
  return feeds;
}

/**
 * Everything restore.onnx is fed for one image except the tile's own inputs (§6.4 steps 3-5).
 * @param {object} ort
 * @param {{rgb: Uint8Array, width: number, height: number}} pixels
 * @param {Record<string, object>} model modelFeeds() or plainFeeds()
 * @param {{grids?: Record<string, object>|null, map?: {scale: number, power: number,
 *   samples: Uint8Array}|null}} [extras] the context grids (layout 2), the decoded residual map
 * @returns {RestoreImage}
 */
export function restoreImage(ort, { rgb, width, height }, model, { grids, map } = {}) {
  const params = map ? [map.scale, map.power] : [0, 0]; // scale 0: no map
  const feeds = {
    image_size: int64(ort, height, width),
    ...model,
    ...(grids ?? unusedGrids(ort)),
    map_params: new ort.Tensor('float32', Float32Array.from(params), [2]),
  };
  return { rgb, width, height, feeds, samples: map?.samples ?? null };
}

/**
 * The restored image band by band: tiles of `tile` x `tile` pixels, or (tile 0) bands of whole
 * rows of about BAND_PIXELS, each tile one restore.onnx run with its origin (§5 step 3) and its
 * residual map samples. Results do not depend on the tiling, but for an ulp or so where a gated
 * model runs: onnxruntime's CPU Sin rounds the vectorised body of a run and its scalar tail
 * differently. A tile whose `residual_sum` is not finite is refused (the graph's sum is finite
 * exactly when every restored value is).
 * @param {object} ort
 * @param {object} session an InferenceSession over restore.onnx, or a lib/pool.js session
 * @param {RestoreImage} image
 * @param {{tile?: number, rows?: number, parallel?: number}} [options] tile: square tiles of
 *   this edge (>= 16); rows: whole-row bands of this many rows (tile 0); parallel: runs in
 *   flight at once (1 for an InferenceSession)
 * @returns {AsyncGenerator<{top: number, rows: number, data: Float32Array}>} data: rows*W*3
 */
export async function* restoreBands(ort, session, image, options = {}) {
  const { tile = 0, rows = 0, parallel = 1 } = options;
  if (image.orientation > 1) {
    // A turned carrier: the whole restore, turned like the file, then its bands.
    const shown = await restorePixels(ort, session, image, options);
    const w = image.orientation >= 5 ? image.height : image.width;
    const h = shown.length / (3 * w);
    const step = rows || Math.max(1, Math.round(BAND_PIXELS / w));
    for (let top = 0; top < h; top += step) {
      const n = Math.min(step, h - top);
      yield { top, rows: n, data: shown.subarray(top * w * 3, (top + n) * w * 3) };
    }
    return;
  }
  const { rgb, width, height, feeds, samples } = image;
  if (tile && !(tile >= 16)) throw new GamutError(`tile size ${tile} is too small (minimum 16)`);
  const bandRows = tile || rows || Math.max(1, Math.round(BAND_PIXELS / width));
  const tileWidth = tile ? Math.min(tile, width) : width;
  const unused = new ort.Tensor('uint8', new Uint8Array(3).fill(128), [1, 1, 3]);
  // A pool session takes the feeds every tile shares once per worker.
  const bound = session.bind?.(feeds);
  const run = bound ? bound.run : (own) => session.run({ ...feeds, ...own });
  const tasks = function* () {
    for (let top = 0; top < height; top += bandRows) {
      const th = Math.min(bandRows, height - top);
      for (let left = 0; left < width; left += tileWidth) {
        const tw = Math.min(tileWidth, width - left);
        const tileOf = (plane) =>
          new ort.Tensor('uint8', cut(plane, width, top, left, th, tw), [th, tw, 3]);
        const own = {
          srgb8: tileOf(rgb),
          origin: int64(ort, top, left),
          map_samples: samples ? tileOf(samples) : unused,
        };
        yield () => run(own).then((result) => ({ top, left, th, tw, result }));
      }
    }
  };
  try {
    let band = null;
    for await (const { top, left, th, tw, result } of ordered(tasks(), parallel)) {
      if (!Number.isFinite(result.residual_sum.data[0])) throw new GamutError(NOT_FINITE);
      const data = result.prophoto.data;
      if (tw === width) {
        yield { top, rows: th, data };
        continue;
      }
      band ??= { top, rows: th, data: new Float32Array(th * width * 3) };
      for (let y = 0; y < th; y++) {
        band.data.set(data.subarray(y * tw * 3, (y + 1) * tw * 3), (y * width + left) * 3);
      }
      if (left + tw === width) {
        yield band;
        band = null;
      }
    }
  } finally {
    await bound?.release();
  }
}

/** Rows [top, top + rows) x columns [left, left + cols) of an H*W*3 plane, contiguous. */
function cut(plane, width, top, left, rows, cols) {
  if (cols === width) return plane.subarray(top * width * 3, (top + rows) * width * 3);
  const out = new Uint8Array(rows * cols * 3);
  for (let y = 0; y < rows; y++) {
    const from = ((top + y) * width + left) * 3;
    out.set(plane.subarray(from, from + cols * 3), y * cols * 3);
  }
  return out;
}

/**
 * The whole restored image, H*W*3 float32 linear ProPhoto.
 * @param {object} ort
 * @param {object} session an InferenceSession over restore.onnx
 * @param {RestoreImage} image
 * @param {{tile?: number, rows?: number, parallel?: number}} [options] as restoreBands'
 * @returns {Promise<Float32Array>}
 */
export async function restorePixels(ort, session, image, options = {}) {
  const out = new Float32Array(image.width * image.height * 3);
  const fitted = { ...image, orientation: 1 };
  for await (const { top, data } of restoreBands(ort, session, fitted, options)) {
    out.set(data, top * image.width * 3);
  }
  if (!(image.orientation > 1)) return out;
  return turn({ data: out, width: image.width, height: image.height }, image.orientation, 3).data;
}

/**
 * Open a carrier for restoring: the checks of §4.2, the residual map of §9 (decoded once) and
 * the inputs of §6.4 steps 3-5, the context grids included. Warnings as the reference decoder's.
 * @param {object} ort the onnxruntime module (for its Tensor class)
 * @param {Sessions} sessions
 * @param {Uint8Array} bytes the carrier file
 * @param {{sha256: import('./opencarrier.js').Sha256, inflate?: import('./blob.js').Inflate,
 *   strict?: boolean,
 *   maxPixels?: number, parallel?: number, decodeAvif?: import('./residualmap.js').DecodeAvif,
 *   examine?: Function}} options strict: warnings are errors; inflate: for the source ICC
 *   record; maxPixels: refuse larger images from their header (default 250 MP); parallel: graph
 *   runs in flight at once (1 for InferenceSessions); decodeAvif: the residual map's decoder
 *   (default @jsquash/avif here); examine: called with the header and the checked blob (or
 *   null) before any pixel is decoded, may throw to stop there (e.g. a file without a model);
 *   fallback (ignored with strict): a damaged model gives the plain sRGB expansion and one
 *   warning; sidecar: the bytes of the carrier's sidecar file (`photo.jpg.gamut`), used when
 *   the file holds no usable model (a page cannot see neighbouring files: fetch them itself)
 * @returns {Promise<Omit<Restored, 'data'> & {image: RestoreImage}>}
 */
export async function openRestore(ort, sessions, bytes, options) {
  const { sha256, inflate, strict, maxPixels, parallel = 1, decodeAvif, examine } = options;
  const fallback = !strict && !!options.fallback;
  // The residual map is checked and decoded from the header on, while the pixels decode (a
  // worker's decoder runs meanwhile); its warning still comes after the carrier's.
  let mapping = null;
  let mapDone = true;
  const checked = (header, blob) => {
    examine?.(header, blob);
    if (!header.residualMap || !blob) return;
    const { residualMap } = header;
    const recorded = blob.residualMapDigest;
    const [width, height] = [blob.imageWidth, blob.imageHeight]; // the fitted size (§4.4)
    mapping = openMap(residualMap, width, height, header.blob, recorded, sha256, decodeAvif);
    mapDone = false;
    const done = () => (mapDone = true);
    mapping.then(done, done); // awaited below unless the carrier fails first
  };
  // The grids start once the pixels are decoded, while their digest is computed and the map
  // may still decode (in worker threads). While the map decodes the grids take one run at a
  // time: the map is what the restore waits for; then as many as the workers take.
  let gridding = Promise.resolve(null);
  const decoded = ({ rgb, width, height }, blob) => {
    if (!blob?.context) return;
    const gridRuns = () => (mapDone ? parallel : 1);
    gridding = computeGrids(ort, sessions.grids, rgb, width, height, { parallel: gridRuns });
    gridding.catch(() => {}); // awaited below unless the checks refuse first
  };
  const { sidecar } = options;
  const reading = { maxPixels, fitted: true, checked, decoded, fallback, sidecar };
  const opened = await openCarrier(bytes, sha256, inflate, reading);
  const { carrier, blob, digestOk, warnings, model: source, orientation } = opened;
  const { width, height } = carrier;
  let pixels = carrier;
  if (orientation !== 1) {
    // Turned since encoding: restored as fitted (grids too), the output turned back (§4.4).
    pixels = await fittedPixels(carrier, orientation, maxPixels);
    if (blob.context) {
      const { rgb, width: w, height: h } = pixels;
      gridding = computeGrids(ort, sessions.grids, rgb, w, h, { parallel: () => parallel });
    }
  }
  sessions.restore.warm?.(); // a worker session (lib/pool.js) loads its graph meanwhile
  let map = null;
  if (carrier.residualMap) {
    const found = blob
      ? await mapping
      : { map: null, warning: `${MAP_IGNORED}: the file has no model for it to correct` };
    if (found.warning) warnings.push(found.warning);
    map = found.map;
  } else if (blob?.residualMapDigest && !carrier.notes.some((n) => n.startsWith(MAP_IGNORED))) {
    warnings.push(MAP_MISSING);
  }
  if (strict && warnings.length) throw new GamutError(warnings[0]);
  const grids = await gridding;
  const model = blob ? modelFeeds(ort, blob) : plainFeeds(ort);
  const image = { ...restoreImage(ort, pixels, model, { grids, map }), orientation };
  const out = { width, height, warnings, blob, carrier, digestOk, residualMap: !!map, image };
  out.model = source;
  if (carrier.alpha) out.alpha = carrier.alpha;
  return out;
}

/**
 * Restore wide-gamut colour from carrier bytes.
 * @param {object} ort the onnxruntime module (for its Tensor class)
 * @param {Sessions} sessions
 * @param {Uint8Array} bytes the carrier file
 * @param {{sha256: import('./opencarrier.js').Sha256, inflate?: import('./blob.js').Inflate,
 *   tile?: number,
 *   strict?: boolean, maxPixels?: number, parallel?: number}} options as openRestore's; tile:
 *   square tiles of this edge (default 0: bands of whole rows)
 * @returns {Promise<Restored>}
 */
export async function restoreWith(ort, sessions, bytes, options) {
  const { image, ...restored } = await openRestore(ort, sessions, bytes, options);
  const { tile, parallel } = options;
  const data = await restorePixels(ort, sessions.restore, image, { tile, parallel });
  return { ...restored, data };
}

/**
 * What a carrier holds: the keys of `gamut-onnx inspect --json` (less `file`).
 * @param {Uint8Array} bytes
 * @param {import('./opencarrier.js').Sha256} sha256
 * @param {import('./blob.js').Inflate} [inflate]
 * @param {{maxPixels?: number}} [options]
 */
export async function inspectWith(bytes, sha256, inflate, { maxPixels } = {}) {
  // As Python's inspect: a model container that cannot be read is reported (model_damage), an
  // invalid blob in a readable one is an error.
  let damage = null;
  const checked = (header) => {
    damage = header.modelDamage ?? null;
  };
  const reading = { maxPixels, fallback: true, checked };
  const opened = await openCarrier(bytes, sha256, inflate, reading);
  if (opened.model === 'ignored' && opened.reason !== damage) throw new GamutError(opened.reason);
  const info = facts(opened.carrier, opened.blob, opened.digestOk);
  if (damage) info.model_damage = damage;
  return info;
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
    lattice: blob.lattice
      ? { mode: blob.lattice.mode, curves: blob.lattice.curves, levels: blob.lattice.levels }
      : null,
  });
}
