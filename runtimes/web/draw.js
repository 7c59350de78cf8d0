// The page's canvases: the carrier as any viewer shows it, and the restored image through
// output.onnx (docs/blob-format.md §6.4 step 7) in the canvas's own space, 8-bit codes packed as
// RGBA by the workers (worker.js) band by band, so the drawing can start while the restore
// still runs. Each canvas changes only once everything for it is ready.

import { ordered } from '../node/lib/ordered.js';
import { outputFeeds } from '../node/lib/output.js';
import { rgba } from './rgba.js';

/** The space a canvas's 2D context draws in: Display P3 where the browser has it, else sRGB. */
export function canvasSpace(canvas) {
  const ctx = canvas.getContext('2d', { colorSpace: 'display-p3' });
  return ctx.getContextAttributes?.().colorSpace === 'display-p3' ? 'display-p3' : 'srgb';
}

/** Size a canvas for an image (small images scaled up by whole pixels); its 2D context. */
function sized(canvas, width, height) {
  canvas.width = width;
  canvas.height = height;
  const scale = Math.max(1, Math.floor(480 / Math.max(width, height)));
  canvas.style.width = `${width * scale}px`;
  return canvas.getContext('2d', { colorSpace: canvasSpace(canvas) });
}

/**
 * Put row bands on a canvas sized for the image (the canvas is cleared and resized here).
 * putImageData, not drawImage: the pixels are written at once (a drawn image is rasterised
 * when the frame is, a third of a second for 12 MP here).
 * @param {HTMLCanvasElement} canvas
 * @param {number} width
 * @param {number} height
 * @param {{top: number, image: ImageData}[]} bands
 */
export function paint(canvas, width, height, bands) {
  const ctx = sized(canvas, width, height);
  for (const { top, image } of bands) ctx.putImageData(image, 0, top);
}

/**
 * The carrier's own pixels (sRGB) for a canvas of `space`: converted by the pool's side worker
 * (worker.js) while the graph workers restore, so that the page only puts them at the end;
 * as sRGB for the browser to convert where the worker cannot (no OffscreenCanvas).
 * @param {import('../node/lib/pool.js').WorkerPool} pool
 * @param {{width: number, height: number, rgb: Uint8Array, alpha: Uint8Array|null}} pixels the
 *   rgb best in shared memory (workers.js's shared): else the worker gets a copy
 * @param {string} space the canvas's
 * @returns {Promise<ImageData>}
 */
export async function carrierImage(pool, { width, height, rgb, alpha }, space) {
  if (typeof OffscreenCanvas === 'function') {
    try {
      const { pixels } = await pool.aside({ op: 'carrier', rgb, alpha, width, height, space });
      return new ImageData(pixels.data, width, height, { colorSpace: space });
    } catch {
      // converted by the browser below
    }
  }
  return new ImageData(rgba(rgb, alpha, null), width, height, { colorSpace: 'srgb' });
}

/**
 * Row bands of linear ProPhoto as ImageData of `space`: one output.onnx run each whose worker
 * packs the result as RGBA with the alpha: 8-bit codes (`top` 255), highlighted pixels
 * magenta; or, with `half`, the encoded values as half floats for a float16 canvas.
 * @param {object} ort the onnxruntime module (for its Tensor class)
 * @param {object} output a pool session over output.onnx (workers.js: it takes `bind` and RGBA)
 * @param {AsyncIterable<{top: number, rows: number, data: Float32Array}>|Iterable<object>} bands
 *   their data is copied to the workers, or moved where lib/pool.js's handedOver has it
 * @param {{width: number, space: string, alpha?: Uint8Array|null,
 *   highlight?: Uint8Array|null, half?: boolean, parallel?: number}} options alpha, highlight:
 *   H*W planes
 * @returns {AsyncGenerator<{top: number, image: ImageData}>} in order
 */
export async function* encodeBands(ort, output, bands, options) {
  const { width, space, alpha, highlight, half = false, parallel = 1 } = options;
  // The space's inputs go to each worker once (lib/pool.js's bind).
  const bound = output.bind(outputFeeds(ort, space, half ? 0 : 255));
  const fetches = [half ? 'encoded' : 'codes'];
  const format = { colorSpace: space, ...(half && { pixelFormat: 'rgba-float16' }) };
  // Only the band's rows of a plane travel: a view would carry its whole buffer.
  const rowsOf = (plane, top, rows) => plane?.slice(top * width, (top + rows) * width) ?? null;
  const tasks = async function* () {
    for await (const { top, rows, data } of bands) {
      const prophoto = new ort.Tensor('float32', data, [rows, width, 3]);
      const packing = {
        half,
        alpha: rowsOf(alpha, top, rows),
        highlight: rowsOf(highlight, top, rows),
      };
      yield () =>
        bound.run({ prophoto }, fetches, { rgba: packing }).then((result) => {
          const image = new ImageData(result.rgba.data, width, rows, format);
          return { top, image };
        });
    }
  };
  try {
    yield* ordered(tasks(), parallel);
  } finally {
    await bound.release();
  }
}

/** Rows of an H*W*3 image in bands of `rows` (views, not copies). */
export function* rowBands({ width, height, data }, rows) {
  for (let top = 0; top < height; top += rows) {
    const n = Math.min(rows, height - top);
    yield { top, rows: n, data: data.subarray(top * width * 3, (top + n) * width * 3) };
  }
}
