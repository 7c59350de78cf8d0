// The page: restore a dropped carrier with onnxruntime-web (WASM) through the same modules the
// Node package uses (../node/lib), then draw the sRGB file and the restored colours side by side.
// Every per-pixel colour step runs in the shipped graphs: grids.onnx and restore.onnx restore,
// output.onnx encodes for the canvas. window.gamut exposes the last result (float data
// included) and the ICC inflater for the tests.

import * as ort from 'onnxruntime-web';

import { encodeImage } from '../node/lib/output.js';
import {
  facts,
  plainFeeds,
  restoreImage,
  restorePixels,
  restoreWith,
} from '../node/lib/restore.js';

// Local files only: the WASM binaries from node_modules, the graphs from their one source of truth.
ort.env.wasm.wasmPaths = new URL('./node_modules/onnxruntime-web/dist/', import.meta.url).href;
const GRAPHS = ['restore', 'grids', 'output'];
// "Changed by the model": about half an 8-bit step in linear ProPhoto, well above float noise.
const CHANGED = 1 / 512;
const MAGENTA = [255, 0, 255];

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

/** Restore carrier bytes through grids.onnx and restore.onnx; adds the timing. */
async function restoreBytes(bytes) {
  const sessions = await gamut.ready;
  const started = performance.now();
  const result = await restoreWith(ort, sessions, bytes, { sha256, inflate });
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/**
 * The pixels the model changed (H*W, 1 where some channel moved by more than CHANGED): the
 * result against restore.onnx's plain expansion (the no-model feeds with the blob's transform,
 * so only the MLP and the residual map count). Computed once, when the highlight is first on.
 */
async function changedPixels(result) {
  if (!result.changed) {
    const { restore } = await gamut.ready;
    const n = result.width * result.height;
    result.changed = new Uint8Array(n);
    if (result.blob) {
      const model = plainFeeds(ort, result.blob.carrierTransform);
      const plain = await restorePixels(ort, restore, restoreImage(ort, result.carrier, model));
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

/** 8-bit RGB codes (H*W*3) and alpha into RGBA for an ImageData; highlighted pixels magenta. */
function rgba(codes, alpha, count, highlight) {
  const out = new Uint8ClampedArray(count * 4);
  for (let i = 0; i < count; i++) {
    const from = highlight?.[i] ? MAGENTA : null;
    out[4 * i] = from ? from[0] : codes[3 * i];
    out[4 * i + 1] = from ? from[1] : codes[3 * i + 1];
    out[4 * i + 2] = from ? from[2] : codes[3 * i + 2];
    out[4 * i + 3] = alpha ? alpha[i] : 255;
  }
  return out;
}

async function draw(result) {
  const { width, height, carrier } = result;
  const count = width * height;
  // The carrier is sRGB: an sRGB ImageData lets the browser convert it for the P3 canvas.
  context($('srgb'), width, height).ctx.putImageData(
    new ImageData(rgba(carrier.rgb, carrier.alpha, count), width, height, { colorSpace: 'srgb' }),
    0,
    0,
  );
  const { ctx, space } = context($('restored'), width, height);
  const mask = $('highlight').checked ? await changedPixels(result) : undefined;
  // The canvas's own space through output.onnx: its matrix, the sRGB curve, 8-bit codes.
  const { output } = await gamut.ready;
  const codes = await encodeImage(ort, output, result, space, 255);
  const pixels = rgba(codes, carrier.alpha, count, mask);
  ctx.putImageData(new ImageData(pixels, width, height, { colorSpace: space }), 0, 0);
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
    const result = await restoreBytes(new Uint8Array(await file.arrayBuffer()));
    result.name = file.name;
    Object.assign(gamut, { last: result, error: null });
    await draw(result);
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

/** One session per shipped graph, served by serve.js as /graph/NAME.onnx. */
async function openSessions() {
  const options = { executionProviders: ['wasm'] };
  const made = await Promise.all(
    GRAPHS.map((name) =>
      ort.InferenceSession.create(new URL(`../graph/${name}.onnx`, import.meta.url).href, options),
    ),
  );
  return Object.fromEntries(GRAPHS.map((name, k) => [name, made[k]]));
}

gamut.ready = openSessions();
gamut.ready.then(
  () => setStatus('Ready: drop or pick a carrier file.', 'ready'),
  (err) => setStatus(`Cannot start onnxruntime-web: ${err.message}`, 'error'),
);
