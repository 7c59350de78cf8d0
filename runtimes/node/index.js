// gamut-onnx restore for Node.js on onnxruntime-node. The format logic lives in lib/ (shared with
// the browser page in runtimes/web); this file adds what is Node-specific: the onnxruntime-node
// session, SHA-256 from node:crypto, zlib for the blob's source ICC record, files for the ONNX
// graph, the JPEG decoder and the ICC.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';

import ort from 'onnxruntime-node';

import { readBlob as readBlobWith } from './lib/blob.js';
import { configureJpegDecoder } from './lib/jpeg.js';
import { configureAvifDecoder } from './lib/residualmap.js';
import { MAX_PIXELS_ENV, maxPixelsFrom } from './lib/limits.js';
import { DEFAULT_TILE, inspectWith, restoreWith } from './lib/restore.js';
import { encodeRestoredTiff as encodeTiff } from './lib/tiff16.js';

export { GamutError } from './lib/blob.js';
export { clippedProPhoto } from './lib/colour.js';
export { DEFAULT_MAX_PIXELS } from './lib/limits.js';
export { DEFAULT_TILE };

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/**
 * The fixed graph has one source of truth, src/gamut_onnx/runtime/restore.onnx. From a checkout we load
 * it there, so a regenerated graph is picked up at once; `npm pack` copies it beside this file
 * (the prepack script) so that an installed package carries its own copy.
 */
export function defaultModelPath() {
  const inRepo = join(here, '..', '..', 'src', 'gamut_onnx', 'runtime', 'restore.onnx');
  return existsSync(inRepo) ? inRepo : join(here, 'restore.onnx');
}

/** The ProPhoto ICC v4.3 profile written into restored TIFFs (bytes of gamut_onnx.colour.icc). */
export const PROPHOTO_ICC = new Uint8Array(readFileSync(join(here, 'prophoto.icc')));

const sessions = new Map();

function session(modelPath, threads) {
  const key = `${modelPath}|${threads}`;
  if (!sessions.has(key)) {
    const options = { graphOptimizationLevel: 'all', logSeverityLevel: 3 };
    if (threads) options.intraOpNumThreads = threads;
    sessions.set(key, ort.InferenceSession.create(modelPath, options));
  }
  return sessions.get(key);
}

let jpegReady = null;

/** Node's fetch cannot load the decoder's .wasm from a file URL, so hand it the module. */
function ensureDecoders() {
  jpegReady ??= Promise.all([
    WebAssembly.compile(readFileSync(require.resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm'))),
    // The residual map's AVIF decoder (lib/residualmap.js), the same way.
    WebAssembly.compile(readFileSync(require.resolve('@jsquash/avif/codec/dec/avif_dec.wasm'))),
  ]).then(([jpeg, avif]) => {
    const quiet = { print() {}, printErr() {} }; // no chatter
    return Promise.all([configureJpegDecoder(jpeg, quiet), configureAvifDecoder(avif, quiet)]);
  });
  return jpegReady;
}

function sha256(parts) {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

/**
 * zlib inflation bounded to `maxBytes` of output (the source ICC record, §3.1): null when the
 * stream is truncated or inflates past the bound; throws on corrupt data.
 * @type {import('./lib/blob.js').Inflate}
 */
function inflate(deflated, maxBytes) {
  try {
    return new Uint8Array(inflateSync(deflated, { maxOutputLength: maxBytes }));
  } catch (err) {
    if (err.code === 'ERR_BUFFER_TOO_LARGE' || err.code === 'Z_BUF_ERROR') return null;
    throw err;
  }
}

/**
 * Validate and unpack a raw weight blob, version 1 or 2 (docs/blob-format.md §4.1, in order),
 * with its source ICC profile inflated.
 * @param {Uint8Array} bytes
 * @returns {import('./lib/blob.js').Blob}
 */
export function readBlob(bytes) {
  return readBlobWith(bytes, { inflate });
}

function asBytes(input) {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  throw new TypeError('expected the file bytes as a Uint8Array, Buffer or ArrayBuffer');
}

/** The pixel limit: the option, else GAMUT_ONNX_MAX_PIXELS, else 250 MP (as the Python CLI). */
function pixelLimit(maxPixels) {
  return maxPixels ?? maxPixelsFrom(process.env[MAX_PIXELS_ENV]);
}

/**
 * Restore wide-gamut colour from a carrier file (PNG, TIFF or JPEG bytes).
 * @param {Uint8Array|ArrayBuffer} carrierBytes
 * @param {{modelPath?: string, tile?: number, strict?: boolean, threads?: number,
 *   maxPixels?: number}} [options] strict: the no-model and edited-pixels warnings become
 *   errors; maxPixels: larger images are refused from their header (default: the environment
 *   variable GAMUT_ONNX_MAX_PIXELS, else 250,000,000)
 * @returns {Promise<import('./lib/restore.js').Restored>} data: linear ProPhoto, H*W*3 float32
 * @throws {GamutError} bad input, with a one-line message (docs/blob-format.md §4)
 */
export async function restore(carrierBytes, options = {}) {
  const {
    modelPath = defaultModelPath(),
    tile = DEFAULT_TILE,
    strict = false,
    threads = 0,
  } = options;
  const maxPixels = pixelLimit(options.maxPixels);
  await ensureDecoders();
  const sess = await session(modelPath, threads);
  const bytes = asBytes(carrierBytes);
  return restoreWith(ort, sess, bytes, { sha256, inflate, tile, strict, maxPixels });
}

/**
 * What a carrier holds: the fields of `gamut-onnx inspect --json` (less `file`), e.g.
 * format_version, source_space, carrier_transform, pixel_digest_ok.
 * @param {Uint8Array|ArrayBuffer} carrierBytes
 * @param {{maxPixels?: number}} [options] as restore's
 * @returns {Promise<Record<string, unknown>>}
 */
export async function inspect(carrierBytes, options = {}) {
  const maxPixels = pixelLimit(options.maxPixels);
  await ensureDecoders();
  return inspectWith(asBytes(carrierBytes), sha256, inflate, { maxPixels });
}

/**
 * The restored image as a 16-bit ROMM-encoded ProPhoto TIFF (`gamut-onnx decode --space prophoto`).
 * @param {{width: number, height: number, data: Float32Array, alpha?: Uint8Array}} restored
 * @returns {Uint8Array}
 */
export function encodeRestoredTiff(restored) {
  return encodeTiff(restored, PROPHOTO_ICC);
}
