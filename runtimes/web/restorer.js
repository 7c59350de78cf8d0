// A carrier's bytes to restored colours in the page's workers (workers.js): the restore of
// ../node/lib/restore.js with the browser's SHA-256 and inflater, the bands encoded for a canvas
// as they restore. Shared by the demo page (app.js) and the drop-in (gamut-onnx-web.js).

import * as ort from 'onnxruntime-web';

import { handedOver } from '../node/lib/pool.js';
import { openRestore, restoreBands } from '../node/lib/restore.js';
import { encodeBands } from './draw.js';
import { Phases } from './phases.js';
import { sha256Small } from './sha256.js';
import { shared } from './workers.js';

const SMALL_DIGEST = 1 << 16; // bytes hashed in JavaScript rather than by WebCrypto

/** The pixel digest (§4.2) with WebCrypto, which browsers offer on https and localhost only. */
async function digest(parts) {
  if (!crypto.subtle)
    throw new Error('SHA-256 needs a secure context: open the page via localhost');
  // One part (a PNG's or TIFF's pixels) is hashed as it is; a Blob joins several (JPEG).
  const bytes = parts.length === 1 ? parts[0] : await new Blob(parts).arrayBuffer();
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

/**
 * SHA-256 for lib/restore.js: small inputs (the blob, for its residual map) here and now
 * (sha256.js), so the map goes to its worker before the pixels decode; the pixels' digest on
 * WebCrypto (timed in `phases`).
 * @param {Phases} phases
 * @returns {import('../node/lib/restore.js').Sha256}
 */
function sha256With(phases) {
  return (parts) => {
    const small = parts.reduce((n, part) => n + part.length, 0) <= SMALL_DIGEST;
    return small ? sha256Small(parts) : phases.time('digest', () => digest(parts));
  };
}

/**
 * zlib inflation for the blob's source ICC record (docs/blob-format.md §3.1), with the browser's
 * DecompressionStream; stops (null) past `maxBytes` of output. Corrupt data rejects.
 * @type {import('../node/lib/blob.js').Inflate}
 */
export async function inflate(deflated, maxBytes) {
  const stream = new Blob([deflated]).stream().pipeThrough(new DecompressionStream('deflate'));
  const reader = stream.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return new Uint8Array(await new Blob(chunks).arrayBuffer());
}

/**
 * Restore carrier bytes through grids.onnx and restore.onnx in the workers; adds the restore's
 * seconds and the phase times. With `space`, each band is also encoded for a canvas of that
 * space as soon as it is restored (`bands`: ImageData rows for draw.js's paint; `half`: half
 * floats for a float16 canvas); `keep`: also the linear ProPhoto (`data`).
 * @param {Awaited<ReturnType<import('./workers.js').openSessions>>} sessions
 * @param {Uint8Array} bytes
 * @param {{space?: string|null, half?: boolean, keep?: boolean, phases?: Phases,
 *   examine?: Function, opened?: Function, strict?: boolean}} [options] examine: as
 *   lib/restore.js's openRestore; opened: called with the result so far and restore.onnx's
 *   image (its rgb shared) before the bands restore
 */
export async function restoreBytes(sessions, bytes, options = {}) {
  const { space = null, half = false, keep = true, phases = new Phases(), opened } = options;
  const { parallel, pool } = sessions;
  const timed = { ...sessions };
  for (const name of ['restore', 'grids', 'output']) {
    timed[name] = phases.session(sessions[name], name);
  }
  const started = performance.now();
  const settings = {
    sha256: sha256With(phases),
    inflate,
    parallel,
    strict: options.strict,
    examine: options.examine,
    decodeAvif: phases.timed('map', (avif) => pool.avif(avif)), // meanwhile the PNG decodes
  };
  const open = () => openRestore(ort, timed, bytes, settings);
  const { image, ...result } = await phases.time('open', open);
  const { width, height } = result;
  // What every run reads (its tile, map samples, the grids) in memory the workers share.
  image.rgb = shared(image.rgb);
  image.samples = shared(image.samples);
  for (const [name, { type, data, dims }] of Object.entries(image.feeds)) {
    if (data.length > 1 << 12) image.feeds[name] = new ort.Tensor(type, shared(data), dims);
  }
  const data = keep ? new Float32Array(width * height * 3) : null;
  let restored = 0;
  const bands = (async function* () {
    for await (const band of restoreBands(ort, timed.restore, image, { parallel })) {
      data?.set(band.data, band.top * width * 3);
      handedOver.add(band.data); // the output run's worker takes it without a copy
      yield band;
    }
    restored = performance.now();
  })();
  opened?.(result, image);
  if (space) {
    const encoding = { width, space, half, alpha: result.alpha, parallel };
    result.bands = [];
    for await (const band of encodeBands(ort, timed.output, bands, encoding)) {
      result.bands.push(band);
    }
  } else {
    for await (const band of bands) void band; // copied into `data` above
  }
  result.data = data;
  result.seconds = (restored - started) / 1000;
  result.phases = phases;
  return result;
}
