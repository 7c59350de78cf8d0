// gamut-onnx restore for Node.js on onnxruntime-node. The format logic lives in lib/ (shared with
// the browser page in runtimes/web); this file adds what is Node-specific: the onnxruntime-node
// sessions over the three graphs, SHA-256 from node:crypto, zlib for the blob's source ICC record
// and the output TIFF, files for the graphs, the JPEG and AVIF decoders and the ICC.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';

import ort from 'onnxruntime-node';

import { readBlob as readBlobWith } from './lib/blob.js';
import { useSyncInflate } from './lib/inflate.js';
import { configureJpegDecoder } from './lib/jpeg.js';
import { MAX_PIXELS_ENV, maxPixelsFrom } from './lib/limits.js';
import { ordered } from './lib/ordered.js';
import { encodeImage, encodeRows, outputFeeds } from './lib/output.js';
import { handedOver, WorkerPool } from './lib/pool.js';
import { configureAvifDecoder } from './lib/residualmap.js';
import { inspectWith, openRestore, restoreBands, restoreWith } from './lib/restore.js';
import { SPACE_NAMES } from './lib/spaces.js';
import { spawnThread } from './lib/threads.js';
import { tiffWriter } from './lib/tiff16.js';

export { GamutError } from './lib/blob.js';
export { DEFAULT_MAX_PIXELS } from './lib/limits.js';
export { SPACE_NAMES };

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const GRAPHS = ['restore', 'grids', 'output'];

/**
 * Where the three graphs load from. They have one source of truth, src/gamut_onnx/runtime/: from
 * a checkout we load them there, so regenerated graphs are picked up at once; `npm pack` copies
 * them beside this file (the prepack script) so that an installed package carries its own.
 * @returns {{restore: string, grids: string, output: string}}
 */
export function defaultGraphPaths() {
  const inRepo = join(here, '..', '..', 'src', 'gamut_onnx', 'runtime');
  const dir = existsSync(join(inRepo, 'restore.onnx')) ? inRepo : here;
  return Object.fromEntries(GRAPHS.map((name) => [name, join(dir, `${name}.onnx`)]));
}

/** restore.onnx's path (defaultGraphPaths().restore). */
export function defaultModelPath() {
  return defaultGraphPaths().restore;
}

/** The ProPhoto ICC v4.3 profile written into restored TIFFs (bytes of gamut_onnx.colour.icc). */
export const PROPHOTO_ICC = new Uint8Array(readFileSync(join(here, 'prophoto.icc')));

const pools = new Map(); // worker count -> WorkerPool
const poolSessions = new Map(); // `${workers}|${path}` -> pool session

/** The worker threads (default: one per core), started once per size. */
function workerPool(threads = 0) {
  const workers = threads || availableParallelism();
  if (!pools.has(workers)) pools.set(workers, new WorkerPool(workers, spawnThread));
  return pools.get(workers);
}

/**
 * Sessions over the three graphs that run in worker threads, one single-threaded onnxruntime
 * session per graph and worker (lib/pool.js): onnxruntime-node runs synchronously on its calling
 * thread, and single-threaded runs on small tiles side by side beat intra-op threads. Each
 * worker loads the graphs once per process; idle workers do not keep the process alive.
 * @param {{modelPath?: string, graphs?: {restore?: string, grids?: string, output?: string},
 *   threads?: number}} [options] modelPath: restore.onnx (as graphs.restore); threads: worker
 *   threads, default the number of cores
 * @returns {Promise<{restore: object, grids: object, output: object, parallel: number}>} parallel:
 *   runs to keep in flight (lib/restore.js's option)
 */
export async function openSessions({ modelPath, graphs = {}, threads = 0 } = {}) {
  const paths = { ...defaultGraphPaths(), ...(modelPath ? { restore: modelPath } : {}), ...graphs };
  const pool = workerPool(threads);
  const workers = pool.size;
  const sessions = { parallel: 2 * workers }; // one waiting per worker while another runs
  for (const name of GRAPHS) {
    const key = `${workers}|${paths[name]}`;
    if (!poolSessions.has(key)) poolSessions.set(key, pool.session(paths[name]));
    sessions[name] = poolSessions.get(key);
  }
  return sessions;
}

// PNG and TIFF image data through node:zlib (bounded by maxOutputLength) instead of the shared
// reader's DecompressionStream: a 12 MP PNG inflates in 0.1 s instead of 0.4 s.
useSyncInflate((data, limit) => {
  const out = inflateSync(data, { maxOutputLength: limit });
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
});

let jpegReady = null;

/** Node's fetch cannot load the decoder's .wasm from a file URL, so hand it the module. */
function ensureDecoders() {
  jpegReady ??= Promise.all([
    WebAssembly.compile(readFileSync(require.resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm'))),
    // lib/residualmap.js's own AVIF decoder, the same way (restore() decodes in a worker).
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

/** What restore() and restoreTiff() share: decoders, sessions, the lib's settings. */
async function prepare(options) {
  const { tile = 0, strict = false } = options;
  const maxPixels = pixelLimit(options.maxPixels);
  const sessions = options.sessions ?? (await openSessions(options)); // workers load meanwhile
  await ensureDecoders();
  const parallel = sessions.parallel ?? 1; // one run at a time on your own InferenceSessions
  // The residual map's AVIF decodes in a worker while this thread decodes the carrier.
  const decodeAvif = (avif) => workerPool(options.threads).avif(avif);
  const settings = { sha256, inflate, tile, strict, maxPixels, parallel, decodeAvif };
  settings.fallback = !!options.fallback;
  if (options.sidecar) settings.sidecar = asBytes(options.sidecar);
  return { sessions, tile, settings };
}

/**
 * Restore wide-gamut colour from a carrier file (PNG, TIFF or JPEG bytes).
 * @param {Uint8Array|ArrayBuffer} carrierBytes
 * @param {{modelPath?: string, graphs?: object, sessions?: object, tile?: number,
 *   strict?: boolean, threads?: number, maxPixels?: number, fallback?: boolean,
 *   sidecar?: Uint8Array}} [options] strict: the no-model and edited-pixels warnings become
 *   errors; fallback (not with strict): a damaged model gives the plain sRGB expansion and one
 *   warning instead of a GamutError; sidecar: the bytes of the carrier's `.gamut` sidecar, used
 *   when the file holds no usable model; tile: restore in square tiles of this edge (default:
 *   bands of whole rows; results do not depend on it); maxPixels: larger images are refused from
 *   their header (default: the environment variable GAMUT_ONNX_MAX_PIXELS, else 250,000,000);
 *   sessions: your own {restore, grids, output} InferenceSessions instead of openSessions()'
 * @returns {Promise<import('./lib/restore.js').Restored>} data: linear ProPhoto, H*W*3 float32
 * @throws {GamutError} bad input, with a one-line message (docs/blob-format.md §4)
 */
export async function restore(carrierBytes, options = {}) {
  const bytes = asBytes(carrierBytes);
  const { sessions, settings } = await prepare(options);
  return restoreWith(ort, sessions, bytes, settings);
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
 * Codes of a restored image in a named output space, through output.onnx (§6.3).
 * @param {{width: number, height: number, data: Float32Array}} restored linear ProPhoto
 * @param {string} [space] 'prophoto' (default, ROMM curve), 'display-p3' or 'srgb'
 * @param {{bits?: number, threads?: number}} [options] bits: code depth, 16 (default) to 8
 * @returns {Promise<Uint16Array>} H*W*3 codes, 0 ... 2^bits - 1
 */
export async function encode(restored, space = 'prophoto', { bits = 16, threads = 0 } = {}) {
  if (!(bits >= 8 && bits <= 16)) throw new RangeError(`bits must be 8 to 16, not ${bits}`);
  const { output, parallel } = await openSessions({ threads });
  return encodeImage(ort, output, restored, space, 2 ** bits - 1, { parallel });
}

/**
 * The restored image as a 16-bit ROMM-encoded ProPhoto TIFF (`gamut-onnx decode --space prophoto`):
 * codes from output.onnx, horizontal predictor, deflate.
 * @param {{width: number, height: number, data: Float32Array, alpha?: Uint8Array}} restored
 * @param {{threads?: number}} [options]
 * @returns {Promise<Uint8Array>}
 */
export async function encodeRestoredTiff(restored, { threads = 0 } = {}) {
  const { width, height, alpha } = restored;
  const writer = tiffWriter({ width, height, alpha, icc: PROPHOTO_ICC });
  writer.add(await encode(restored, 'prophoto', { threads }), 0, height);
  return writer.finish();
}

/**
 * Restore a carrier straight into the 16-bit ProPhoto TIFF of `encodeRestoredTiff`, band by band
 * (restore, output graph, deflate on the thread pool): the fast path the CLI takes; the float
 * image is never held whole.
 * @param {Uint8Array|ArrayBuffer} carrierBytes
 * @param {object} [options] as restore's
 * @returns {Promise<Omit<import('./lib/restore.js').Restored, 'data'> & {tiff: Uint8Array}>}
 */
export async function restoreTiff(carrierBytes, options = {}) {
  const bytes = asBytes(carrierBytes);
  const { sessions, tile, settings } = await prepare(options);
  const { image, ...restored } = await openRestore(ort, sessions, bytes, settings);
  const { width, height, alpha } = restored;
  const { parallel } = settings;
  const writer = tiffWriter({ width, height, alpha, icc: PROPHOTO_ICC });
  const feeds = outputFeeds(ort, 'prophoto', 65535);
  const bands = restoreBands(ort, sessions.restore, image, { tile, parallel });
  // Each band's codes run while later bands restore; the writer takes them in order.
  const encodes = async function* () {
    for await (const { top, rows, data } of bands) {
      handedOver.add(data); // the output run's worker takes the band without a copy
      const encoded = () => encodeRows(ort, sessions.output, feeds, data, rows, width);
      yield () => encoded().then((codes) => [codes, top, rows]);
    }
  };
  for await (const [codes, top, rows] of ordered(encodes(), parallel)) writer.add(codes, top, rows);
  return { ...restored, tiff: await writer.finish() };
}
