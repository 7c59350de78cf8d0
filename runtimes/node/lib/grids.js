// The carrier's context grids (docs/blob-format.md §5.2, §6.4 step 4): grids.onnx on bands of
// whole 256-row cells, joined along their rows, or the zero grids a graph that does not read
// them gets. Shared by Node and the browser page.

import { ordered } from './ordered.js';

/** The grid graph takes bands of whole 256-row cells (§6.2). */
export const GRID_ROWS = 256;
export const GRID_NAMES = ['grid4', 'grid16', 'grid64', 'grid256'];

/** What a graph that does not read the grids gets: four [4, 1, 1] zero arrays. */
export function unusedGrids(ort) {
  return Object.fromEntries(
    GRID_NAMES.map((name) => [name, new ort.Tensor('float32', new Float32Array(4), [4, 1, 1])]),
  );
}

/** Planar [4, rows, cols] grids of consecutive bands, joined along their rows. */
function joinRows(ort, parts) {
  const [fields, , cols] = parts[0].dims;
  const rows = parts.reduce((n, part) => n + part.dims[1], 0);
  const values = new Float32Array(fields * rows * cols);
  let top = 0;
  for (const { data, dims } of parts) {
    const plane = dims[1] * cols;
    for (let k = 0; k < fields; k++) {
      values.set(data.subarray(k * plane, (k + 1) * plane), (k * rows + top) * cols);
    }
    top += dims[1];
  }
  return new ort.Tensor('float32', values, [fields, rows, cols]);
}

/**
 * The carrier's context grids (§5.2, §6.4 step 4): grids.onnx on bands of 256 rows, each planar
 * output ([4, rows, cols]: mean linear R, G, B and the boundary share) joined along its rows.
 * @param {object} ort
 * @param {object} session an InferenceSession over grids.onnx
 * @param {Uint8Array} rgb H*W*3
 * @param {number} width
 * @param {number} height
 * @param {{parallel?: number|(() => number)}} [options] runs in flight at once (1 for an
 *   InferenceSession), or a function of the moment that says how many
 * @returns {Promise<Record<string, object>>} grid4 ... grid256, [4, ceil(H/S), ceil(W/S)] float32
 *   Tensors
 */
export async function computeGrids(ort, session, rgb, width, height, { parallel = 1 } = {}) {
  if (!session) throw new Error('a blob with carrier context needs a grids.onnx session');
  const tasks = function* () {
    for (let top = 0; top < height; top += GRID_ROWS) {
      const rows = Math.min(GRID_ROWS, height - top);
      const band = rgb.subarray(top * width * 3, (top + rows) * width * 3);
      yield () => session.run({ srgb8: new ort.Tensor('uint8', band, [rows, width, 3]) });
    }
  };
  const parts = [];
  for await (const part of ordered(tasks(), parallel)) parts.push(part);
  const grids = {};
  for (const name of GRID_NAMES) grids[name] = joinRows(ort, parts.map((part) => part[name]));
  return grids;
}
