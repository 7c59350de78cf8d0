// The page: restore a dropped carrier with onnxruntime-web (WASM) through the same modules the
// Node package uses (../node/lib), then draw the sRGB file and the restored colours side by side.
// window.gamut exposes the last result (float data included) and the ICC inflater for the tests.

import * as ort from 'onnxruntime-web';

import { clippedProPhoto } from '../node/lib/colour.js';
import { facts, restoreWith } from '../node/lib/restore.js';
import { toDisplayRgba } from './p3.js';

// Local files only: the WASM binaries from node_modules, the graph from its one source of truth.
ort.env.wasm.wasmPaths = new URL('./node_modules/onnxruntime-web/dist/', import.meta.url).href;
const MODEL_URL = new URL('../graph/restore.onnx', import.meta.url).href;
// "Changed by the model": about half an 8-bit step in linear ProPhoto, well above float noise.
const CHANGED = 1 / 512;

const $ = (id) => document.getElementById(id);

/** The pixel digest (§4.2) with WebCrypto, which browsers offer on https and localhost only. */
async function sha256(parts) {
  if (!crypto.subtle)
    throw new Error('SHA-256 needs a secure context: open the page via localhost');
  const bytes = await new Blob(parts).arrayBuffer();
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
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

/** Restore carrier bytes; adds the per-pixel "changed by the model" mask and the timing. */
async function restoreBytes(bytes) {
  const session = await gamut.ready;
  const started = performance.now();
  const result = await restoreWith(ort, session, bytes, { sha256, inflate });
  result.seconds = (performance.now() - started) / 1000;
  // The model's input colours: the matrix of the blob's carrier transform (version 1: legacy).
  const clipped = clippedProPhoto(result.carrier.rgb, result.blob?.carrierTransform);
  result.changed = new Uint8Array(result.width * result.height);
  for (let i = 0; i < result.changed.length; i++) {
    for (let k = 0; k < 3; k++) {
      if (Math.abs(result.data[3 * i + k] - clipped[3 * i + k]) > CHANGED) result.changed[i] = 1;
    }
  }
  result.changedCount = result.changed.reduce((n, v) => n + v, 0);
  return result;
}

/** A Display P3 2D context where the browser has one, else sRGB. */
function context(canvas, width, height) {
  canvas.width = width;
  canvas.height = height;
  const scale = Math.max(1, Math.floor(480 / Math.max(width, height)));
  canvas.style.width = `${width * scale}px`;
  const ctx = canvas.getContext('2d', { colorSpace: 'display-p3' });
  const space = ctx.getContextAttributes?.().colorSpace === 'display-p3' ? 'display-p3' : 'srgb';
  return { ctx, space };
}

function draw(result) {
  const { width, height, carrier } = result;
  // The carrier is sRGB: an sRGB ImageData lets the browser convert it for the P3 canvas.
  const srgb = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    srgb.set(carrier.rgb.subarray(3 * i, 3 * i + 3), 4 * i);
    srgb[4 * i + 3] = carrier.alpha ? carrier.alpha[i] : 255;
  }
  context($('srgb'), width, height).ctx.putImageData(
    new ImageData(srgb, width, height, { colorSpace: 'srgb' }),
    0,
    0,
  );
  const { ctx, space } = context($('restored'), width, height);
  const mask = $('highlight').checked ? result.changed : undefined;
  const rgba = toDisplayRgba(result.data, carrier.alpha ?? undefined, space, mask);
  ctx.putImageData(new ImageData(rgba, width, height, { colorSpace: space }), 0, 0);
  $('restored-caption').textContent =
    `restored wide gamut, shown in ${space}` + (mask ? ' (magenta: changed by the model)' : '');
}

function showFacts(result, name) {
  const info = {
    file: name,
    ...facts(result.carrier, result.blob, result.digestOk),
    restore_seconds: result.seconds.toFixed(3),
    pixels_changed_by_model: `${result.changedCount} of ${result.width * result.height}`,
  };
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
    const result = await restoreBytes(new Uint8Array(await file.arrayBuffer()));
    Object.assign(gamut, { last: result, error: null });
    draw(result);
    showFacts(result, file.name);
    setStatus(`${file.name}: ${result.width}x${result.height} restored`, 'done');
  } catch (err) {
    Object.assign(gamut, { last: null, error: err.message });
    $('facts').replaceChildren();
    $('warnings').replaceChildren();
    setStatus(`${file.name}: ${err.message}`, 'error');
  }
}

$('file').addEventListener('change', (e) => e.target.files[0] && openFile(e.target.files[0]));
$('highlight').addEventListener('change', () => gamut.last && draw(gamut.last));
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

gamut.ready = ort.InferenceSession.create(MODEL_URL, { executionProviders: ['wasm'] });
gamut.ready.then(
  () => setStatus('Ready: drop or pick a carrier file.', 'ready'),
  (err) => setStatus(`Cannot start onnxruntime-web: ${err.message}`, 'error'),
);
