// One image's upgrade for gamut-onnx-web.js: its file restored by the restoring worker
// (restore-worker.js), a Display P3 canvas painted band by band in its place, the
// `gamutupgrade` event. Loaded only once a wide-gamut screen has an image to upgrade.

import { canvasFor, halfFloatCanvas, paintBands } from './replace.js';

let worker = null; // started with the first image: a page without any starts no worker
let requests = 0;
const waiting = new Map();

/** The restoring worker's answer for `bytes` (restore-worker.js). */
function restoreInWorker(bytes, half) {
  if (!worker) {
    worker = new Worker(new URL('./restore-worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = ({ data }) => {
      waiting.get(data.id)?.(data);
      waiting.delete(data.id);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      for (const done of waiting.values()) done({ error: event.message || 'the worker failed' });
      waiting.clear();
      worker = null;
    };
  }
  const id = ++requests;
  return new Promise((done) => {
    waiting.set(id, done);
    worker.postMessage({ id, bytes, half }, [bytes.buffer]);
  });
}

/**
 * Restore `img`'s file and put a Display P3 canvas in its place: the canvas, or null when the
 * image is left as it is (no model, not a PNG/JPEG/TIFF, or a failure: one console warning).
 * @param {HTMLImageElement} img
 * @returns {Promise<HTMLCanvasElement|null>}
 */
export async function upgradeImage(img) {
  const started = performance.now();
  const src = img.currentSrc || img.src;
  if (!src) return null;
  let bytes;
  try {
    const response = await fetch(src, { cache: 'force-cache' });
    if (!response.ok) return null;
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch {
    return null; // e.g. a cross-origin image without CORS: not ours to read
  }
  const half = halfFloatCanvas();
  const result = await restoreInWorker(bytes, half);
  if (result.skip) return null;
  if (result.error) {
    console.warn(`gamut-onnx: ${src}: ${result.error}; shown as it is`);
    return null;
  }
  for (const warning of result.warnings) console.warn(`gamut-onnx: ${src}: ${warning}`);
  if (!img.isConnected) return null;
  const canvas = canvasFor(img, result);
  await paintBands(canvas, result, half);
  if (!img.isConnected) return null;
  img.replaceWith(canvas);
  const detail = {
    src,
    width: result.width,
    height: result.height,
    started, // performance.now() when this image's upgrade began
    seconds: (performance.now() - started) / 1000, // file read to canvas in place
    restoreSeconds: result.seconds,
    warnings: result.warnings,
  };
  canvas.dispatchEvent(new CustomEvent('gamutupgrade', { bubbles: true, detail }));
  return canvas;
}
