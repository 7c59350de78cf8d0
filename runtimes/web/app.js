// The page: restore a dropped carrier with onnxruntime-web (WASM) through the same modules the
// Node package uses (../node/lib), then draw the sRGB file and the restored colours side by side.
// Every per-pixel colour step runs in the shipped graphs: grids.onnx and restore.onnx restore,
// output.onnx encodes for the canvas. They run in Web Workers, one per core (workers.js), as
// Node runs them in worker threads; the restored bands are encoded for the canvas while later
// bands restore. window.gamut exposes the last result (float data and phase times included)
// and the ICC inflater for the tests.

import * as ort from 'onnxruntime-web';

import { facts, plainFeeds, restoreImage, restorePixels } from '../node/lib/restore.js';
import { canvasSpace, carrierImage, encodeBands, paint, rowBands } from './draw.js';
import { Phases } from './phases.js';
import { inflate, restoreBytes as restoreWithSessions } from './restorer.js';
import { warmUp } from './warmup.js';
import { openSessions } from './workers.js';

// "Changed by the model": about half an 8-bit step in linear ProPhoto, well above float noise.
const CHANGED = 1 / 512;
const $ = (id) => document.getElementById(id);

const gamut = { ready: null, last: null, error: null, restoreBytes, inflate };
window.gamut = gamut;

function setStatus(text, state) {
  $('status').textContent = text;
  $('status').className = state === 'error' ? 'error' : '';
  document.body.dataset.state = state;
}

/** restorer.js's restoreBytes on the page's sessions. */
async function restoreBytes(bytes, options) {
  return restoreWithSessions(await gamut.ready, bytes, options);
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
      for (const text of [key, factText(value)]) {
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

/** A fact as the page shows it: [w, h] as "w x h", {mode: 3, ...} as "mode 3, ...", null as "none". */
function factText(value) {
  if (Array.isArray(value)) return value.join(' x ');
  if (value && typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  }
  return value === null ? 'none' : String(value);
}
