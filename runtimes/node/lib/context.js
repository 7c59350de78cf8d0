// Carrier context for input layout 2 (docs/blob-format.md §5.2), as gamut_onnx/context.py: per
// image, grids of block means of LIN[code] per channel and of the share of boundary pixels, at
// block sizes 4, 16, 64 and 256. Sums are exact in float64 whatever the order (every partial sum
// of up to 256 x 256 float32 table values fits in 53 bits), so every runtime gets the same bits.

import { LIN } from './colour.js';

export const LEVELS = [4, 16, 64, 256];
export const CONTEXT_INPUTS = 4 * LEVELS.length;
const FIELDS = 4; // mean linear R, G, B and the share of pixels with a channel at 0 or 255
const BAND = LEVELS[LEVELS.length - 1]; // rows summed at a time: whole cells of every level

/**
 * @typedef {object} ContextGrids the graph's `context` and `context_layout` inputs
 * @property {Float32Array} values [cells, 4]: every level's grid, row-major, one after another
 * @property {BigInt64Array} layout [levels, 4]: block size, grid rows, grid columns, first cell
 * @property {number} cells
 */

const cellsOf = (length, block) => Math.ceil(length / block);

/** Sums of the finest cells over rows [top, top + rows) of the image. */
function finestSums(rgb, width, top, rows) {
  const block = LEVELS[0];
  const gw = cellsOf(width, block);
  const sums = new Float64Array(cellsOf(rows, block) * gw * FIELDS);
  for (let y = 0; y < rows; y++) {
    const rowCells = Math.floor(y / block) * gw;
    let i = (top + y) * width * 3;
    for (let x = 0; x < width; x++, i += 3) {
      const r = rgb[i];
      const g = rgb[i + 1];
      const b = rgb[i + 2];
      const c = (rowCells + Math.floor(x / block)) * FIELDS;
      sums[c] += LIN[r];
      sums[c + 1] += LIN[g];
      sums[c + 2] += LIN[b];
      if (Math.min(r, g, b) === 0 || Math.max(r, g, b) === 255) sums[c + 3] += 1;
    }
  }
  return sums;
}

/** Sums of ratio x ratio groups of a [gh, gw, 4] grid of sums (partial groups at the edges). */
function coarser(sums, gh, gw, ratio) {
  const ch = cellsOf(gh, ratio);
  const cw = cellsOf(gw, ratio);
  const out = new Float64Array(ch * cw * FIELDS);
  for (let i = 0; i < gh; i++) {
    for (let j = 0; j < gw; j++) {
      const from = (i * gw + j) * FIELDS;
      const to = (Math.floor(i / ratio) * cw + Math.floor(j / ratio)) * FIELDS;
      for (let k = 0; k < FIELDS; k++) out[to + k] += sums[from + k];
    }
  }
  return out;
}

/**
 * The block-mean grids of an 8-bit sRGB carrier, a band of 256 rows at a time.
 * @param {Uint8Array} rgb H*W*3 bytes
 * @param {number} width
 * @param {number} height
 * @returns {ContextGrids}
 */
export function contextGrids(rgb, width, height) {
  const shapes = LEVELS.map((block) => [cellsOf(height, block), cellsOf(width, block)]);
  const starts = [];
  let cells = 0;
  for (const [gh, gw] of shapes) {
    starts.push(cells);
    cells += gh * gw;
  }
  const values = new Float32Array(cells * FIELDS);
  for (let top = 0; top < height; top += BAND) {
    const rows = Math.min(BAND, height - top);
    let sums = finestSums(rgb, width, top, rows);
    let size = LEVELS[0];
    LEVELS.forEach((block, level) => {
      if (block !== size) {
        sums = coarser(sums, cellsOf(rows, size), cellsOf(width, size), block / size);
        size = block;
      }
      const gw = shapes[level][1];
      const first = top / block;
      for (let i = 0; i < cellsOf(rows, block); i++) {
        const count = Math.min(block, rows - block * i);
        for (let j = 0; j < gw; j++) {
          const n = count * Math.min(block, width - block * j);
          const at = (starts[level] + (first + i) * gw + j) * FIELDS;
          for (let k = 0; k < FIELDS; k++) values[at + k] = sums[(i * gw + j) * FIELDS + k] / n;
        }
      }
    });
  }
  const layout = BigInt64Array.from(
    LEVELS.flatMap((block, k) => [block, shapes[k][0], shapes[k][1], starts[k]].map(BigInt)),
  );
  return { values, layout, cells };
}

/** What a layout-1 blob gets: one zero cell per level (its context rows of w1 are zero). */
export function emptyGrids() {
  const layout = BigInt64Array.from(LEVELS.flatMap((_, k) => [1, 1, 1, k].map(BigInt)));
  return { values: new Float32Array(LEVELS.length * FIELDS), layout, cells: LEVELS.length };
}

/**
 * The graph's w1: the blob's, with zero context rows appended for a layout-1 blob.
 * @param {import('./blob.js').Blob} blob
 * @returns {{values: Float32Array, shape: number[]}}
 */
export function graphW1(blob) {
  const [rows, width] = blob.shapes.w1;
  if (blob.context) return { values: blob.weights.w1, shape: [rows, width] };
  const values = new Float32Array((rows + CONTEXT_INPUTS) * width);
  values.set(blob.weights.w1);
  return { values, shape: [rows + CONTEXT_INPUTS, width] };
}
