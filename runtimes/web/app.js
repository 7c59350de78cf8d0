// The page: restore a dropped carrier with onnxruntime-web (WASM) through the same modules the
// Node package uses (../node/lib), then draw the sRGB file and the restored colours side by side.
// Every per-pixel colour step runs in the shipped graphs: grids.onnx and restore.onnx restore,
// output.onnx encodes for the canvas. They run in Web Workers, one per core (workers.js), as
// Node runs them in worker threads; the restored bands are encoded for the canvas while later
// bands restore. window.gamut exposes the last result (float data and phase times included)
// and the ICC inflater for the tests.

import * as ort from 'onnxruntime-web';

import { handedOver } from '../node/lib/pool.js';
import {
  facts,
  openRestore,
  plainFeeds,
  restoreBands,
  restoreImage,
  restorePixels,
} from '../node/lib/restore.js';
import { canvasSpace, carrierImage, encodeBands, paint, rowBands } from './draw.js';
import { Phases } from './phases.js';
import { sha256Small } from './sha256.js';
import { warmUp } from './warmup.js';
import { openSessions, shared } from './workers.js';

// "Changed by the model": about half an 8-bit step in linear ProPhoto, well above float noise.
const CHANGED = 1 / 512;
const SMALL_DIGEST = 1 << 16; // bytes hashed in JavaScript rather than by WebCrypto

const $ = (id) => document.getElementById(id);

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
async function inflate(deflated, maxBytes) {
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

const gamut = { ready: null, last: null, error: null, restoreBytes, inflate };
window.gamut = gamut;

function setStatus(text, state) {
  $('status').textContent = text;
  $('status').className = state === 'error' ? 'error' : '';
  document.body.dataset.state = state;
}

/**
 * Restore carrier bytes through grids.onnx and restore.onnx in the workers; adds the restore's
 * seconds and the phase times. With `space`, each band is also encoded for a canvas of that
 * space as soon as it is restored (`bands`: ImageData rows for draw.js's paint).
 * @param {Uint8Array} bytes
 * @param {{space?: string|null, phases?: Phases, opened?: Function}} [options] opened: called
 *   with the result so far and restore.onnx's image (its rgb shared) before the bands restore
 */
async function restoreBytes(bytes, { space = null, phases = new Phases(), opened } = {}) {
  const sessions = await gamut.ready;
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
  const data = new Float32Array(width * height * 3);
  let restored = 0;
  const bands = (async function* () {
    for await (const band of restoreBands(ort, timed.restore, image, { parallel })) {
      data.set(band.data, band.top * width * 3);
      handedOver.add(band.data); // the output run's worker takes it without a copy
      yield band;
    }
    restored = performance.now();
  })();
  opened?.(result, image);
  if (space) {
    const options = { width, space, alpha: result.alpha, parallel };
    result.bands = [];
    for await (const band of encodeBands(ort, timed.output, bands, options)) {
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

/**
 * The pixels the model changed (H*W, 1 where some channel moved by more than CHANGED): the
 * result against restore.onnx's plain expansion (the no-model feeds with the blob's transform,
 * so only the MLP and the residual map count). Computed once, when the highlight is first on.
 */
async function changedPixels(result) {
  if (!result.changed) {
    const { restore, parallel } = await gamut.ready;
    const n = result.width * result.height;
    result.changed = new Uint8Array(n);
    if (result.blob) {
      const model = plainFeeds(ort, result.blob.carrierTransform);
      const image = restoreImage(ort, result.carrier, model);
      const plain = await restorePixels(ort, restore, image, { parallel });
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < 3; k++) {
          if (Math.abs(result.data[3 * i + k] - plain[3 * i + k]) > CHANGED) result.changed[i] = 1;
        }
      }
    }
    result.changedCount = result.changed.reduce((count, v) => count + v, 0);
  }
  return result.changed;
}

/**
 * Draw the restored image on its canvas: the bands encoded while it restored, or (the highlight
 * on) encoded now with the changed pixels magenta. With `carrier`, the sRGB canvas too.
 */
async function draw(result, { carrier = false } = {}) {
  const { width, height } = result;
  const space = canvasSpace($('restored'));
  const mask = $('highlight').checked ? await changedPixels(result) : null;
  let bands = mask ? null : result.bands;
  if (!bands) {
    // The canvas's own space through output.onnx: its matrix, the sRGB curve, 8-bit codes.
    const { output, parallel } = await gamut.ready;
    const rows = rowBands(result, Math.max(1, Math.round((1 << 16) / width)));
    const options = { width, space, alpha: result.alpha, highlight: mask, parallel };
    bands = [];
    for await (const band of encodeBands(ort, output, rows, options)) bands.push(band);
    if (!mask) result.bands = bands;
  }
  // The carrier as it is (sRGB), converted for the canvas by the side worker or the browser.
  if (carrier) {
    const { pool } = await gamut.ready;
    result.carrierImage ??= carrierImage(pool, result.carrier, canvasSpace($('srgb')));
    paint($('srgb'), width, height, [{ top: 0, image: await result.carrierImage }]);
    delete result.carrierImage; // drawn: let it go
  }
  paint($('restored'), width, height, bands);
  $('restored-caption').textContent =
    `restored wide gamut, shown in ${space}` + (mask ? ' (magenta: changed by the model)' : '');
  if (mask) showFacts(result);
}

function showFacts(result) {
  const info = {
    file: result.name,
    ...facts(result.carrier, result.blob, result.digestOk),
    restore_seconds: result.seconds.toFixed(3),
  };
  if (result.changed) {
    info.pixels_changed_by_model = `${result.changedCount} of ${result.width * result.height}`;
  }
  $('facts').replaceChildren(
    ...Object.entries(info).map(([key, value]) => {
      const row = document.createElement('tr');
      for (const text of [key, Array.isArray(value) ? value.join(' x ') : String(value)]) {
        row.appendChild(document.createElement('td')).textContent = text;
      }
      return row;
    }),
  );
  $('warnings').replaceChildren(
    ...result.warnings.map((w) => {
      const li = document.createElement('li');
      li.className = 'warning';
      li.textContent = `warning: ${w}`;
      return li;
    }),
  );
}

async function openFile(file) {
  setStatus(`Restoring ${file.name}…`, 'busy');
  try {
    const sessions = await gamut.ready;
    const phases = new Phases();
    const bytes = new Uint8Array(await phases.time('file', () => file.arrayBuffer()));
    // The highlight needs the whole restore first; without it, bands draw as they restore.
    const space = $('highlight').checked ? null : canvasSpace($('restored'));
    // The sRGB canvas's image is drawn by the side worker while the bands restore.
    const opened = (result, { rgb }) => {
      const pixels = { ...result, rgb, alpha: result.alpha ?? null };
      result.carrierImage = carrierImage(sessions.pool, pixels, canvasSpace($('srgb')));
      result.carrierImage.catch(() => {}); // awaited by draw() unless the restore fails
    };
    const result = await restoreBytes(bytes, { space, phases, opened });
    result.name = file.name;
    Object.assign(gamut, { last: result, error: null });
    await phases.time('draw', () => draw(result, { carrier: true }));
    showFacts(result);
    gamut.status = `${file.name}: ${result.width}x${result.height} restored`;
    setStatus(gamut.status, 'done');
  } catch (err) {
    Object.assign(gamut, { last: null, error: err.message });
    $('facts').replaceChildren();
    $('warnings').replaceChildren();
    setStatus(`${file.name}: ${err.message}`, 'error');
  }
}

$('file').addEventListener('change', (e) => e.target.files[0] && openFile(e.target.files[0]));
$('highlight').addEventListener('change', () => {
  if (!gamut.last) return;
  setStatus('Drawing…', 'busy');
  draw(gamut.last).then(
    () => setStatus(gamut.status, 'done'),
    (err) => setStatus(`cannot draw: ${err.message}`, 'error'),
  );
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  if (e.dataTransfer.files[0]) openFile(e.dataTransfer.files[0]);
});

// Ready once the sessions are open and warm (warmup.js): the first file is then as fast as the
// next. gamut.warmup: the warm-up's seconds.
gamut.ready = openSessions().then(async (sessions) => {
  gamut.warmup = await warmUp(ort, sessions);
  return sessions;
});
gamut.ready.then(
  () => setStatus('Ready: drop or pick a carrier file.', 'ready'),
  (err) => setStatus(`Cannot start onnxruntime-web: ${err.message}`, 'error'),
);
