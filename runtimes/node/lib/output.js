// Linear ProPhoto -> codes of an output colour space through output.onnx (docs/blob-format.md
// §6.3, §6.4 step 7): the matrix, clipping and the transfer curve run in the graph; this file
// only feeds it. Shared by Node (the TIFF, `encode`) and the browser page (its canvas).

import { ordered } from './ordered.js';
import { outputSpace } from './spaces.js';

/** Rows per output-graph run when encoding a whole image: its temporaries stay small. */
export const OUTPUT_ROWS = 64;

/**
 * The output graph's per-space inputs as Tensors.
 * @param {object} ort the onnxruntime module (for its Tensor class)
 * @param {string|import('./spaces.js').OutputSpace} space a name of spaces.js or its inputs
 * @param {number} top the largest code (65535, 255, ...); 0 for float output
 * @returns {Record<string, object>}
 */
export function outputFeeds(ort, space, top) {
  const s = typeof space === 'string' ? outputSpace(space) : space;
  return {
    matrix: new ort.Tensor('float32', s.matrix, [3, 3]),
    curve: new ort.Tensor('float32', s.curve, [3, s.samples]),
    ootf: new ort.Tensor('float32', s.ootf, [5]),
    top: new ort.Tensor('float32', Float32Array.of(top), []),
  };
}

/**
 * Codes of `rows` rows of linear ProPhoto in the space of `feeds` (one output.onnx run).
 * @param {object} ort
 * @param {object} session an InferenceSession over output.onnx
 * @param {Record<string, object>} feeds outputFeeds()
 * @param {Float32Array} prophoto rows*W*3
 * @param {number} rows
 * @param {number} width
 * @returns {Promise<Uint16Array>} rows*W*3 codes
 */
export async function encodeRows(ort, session, feeds, prophoto, rows, width) {
  const input = new ort.Tensor('float32', prophoto, [rows, width, 3]);
  const { codes } = await session.run({ ...feeds, prophoto: input }, ['codes']);
  return codes.data;
}

/**
 * Codes of a whole image, OUTPUT_ROWS rows per run.
 * @param {object} ort
 * @param {object} session an InferenceSession over output.onnx, or a lib/pool.js session
 * @param {{width: number, height: number, data: Float32Array}} image linear ProPhoto, H*W*3
 * @param {string|import('./spaces.js').OutputSpace} space e.g. 'prophoto', 'display-p3'
 * @param {number} [top] the largest code: 65535 (default) for 16 bits, 255 for 8
 * @param {{parallel?: number}} [options] runs in flight at once (1 for an InferenceSession)
 * @returns {Promise<Uint16Array>} H*W*3 codes
 */
export async function encodeImage(ort, session, image, space, top = 65535, { parallel = 1 } = {}) {
  const { width, height, data } = image;
  const feeds = outputFeeds(ort, space, top);
  const out = new Uint16Array(width * height * 3);
  const tasks = function* () {
    for (let y = 0; y < height; y += OUTPUT_ROWS) {
      const rows = Math.min(OUTPUT_ROWS, height - y);
      const band = data.subarray(y * width * 3, (y + rows) * width * 3);
      yield () => encodeRows(ort, session, feeds, band, rows, width).then((codes) => [y, codes]);
    }
  };
  for await (const [y, codes] of ordered(tasks(), parallel)) out.set(codes, y * width * 3);
  return out;
}
