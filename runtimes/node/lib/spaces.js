// The output graph's inputs for the named spaces the JS runtimes write or show
// (docs/blob-format.md §6.3): the matrix from linear ProPhoto (the spec's float32 table), the
// transfer curve sampled at x = (i / 4096)^4 in float64 and rounded to float32, and no OOTF.
// Shared by Node (the ProPhoto TIFF) and the browser page (its Display P3 or sRGB canvas).

const CURVE_SAMPLES = 4097; // the x^(1/4) grid: within one 16-bit code of every curve (§6.3)

const romm = (x) => (x < 1 / 512 ? 16 * x : x ** (1 / 1.8));
const srgb = (x) => (x <= 0.0031308 ? 12.92 * x : 1.055 * x ** (1 / 2.4) - 0.055);

// prettier-ignore
const MATRICES = {
  prophoto: [1, 0, 0, 0, 1, 0, 0, 0, 1],
  'display-p3': [
    1.63483989, -0.389545321, -0.245535955,
    -0.150735691, 1.15810204, -0.0072901221,
    0.00878759846, -0.0468411781, 1.03776538,
  ],
  srgb: [
    2.03627419, -0.737586856, -0.299171686,
    -0.225651965, 1.22307551, 0.00271105557,
    -0.0105510876, -0.134885713, 1.1451776,
  ],
};
const CURVES = { prophoto: romm, 'display-p3': srgb, srgb };

/** The spaces `outputSpace` knows. */
export const SPACE_NAMES = Object.keys(MATRICES);

/**
 * @typedef {object} OutputSpace the output graph's per-space inputs (§6.3)
 * @property {string} name
 * @property {Float32Array} matrix [3, 3] row-major, linear ProPhoto -> the space's linear RGB
 * @property {Float32Array} curve [3, n], the encoding curve per channel on the x^(1/4) grid
 * @property {number} samples n
 * @property {Float32Array} ootf [5]: (1, 0, 0, 0, 0), none
 */

const cache = new Map();

/**
 * A named space's output-graph inputs: 'prophoto' (ROMM curve), 'display-p3' or 'srgb' (sRGB
 * curve).
 * @param {string} name
 * @returns {OutputSpace}
 */
export function outputSpace(name) {
  if (!Object.hasOwn(MATRICES, name)) {
    throw new RangeError(`unknown output space ${name} (choose ${SPACE_NAMES.join(', ')})`);
  }
  if (!cache.has(name)) {
    const encode = CURVES[name];
    const curve = new Float32Array(3 * CURVE_SAMPLES);
    for (let i = 0; i < CURVE_SAMPLES; i++) curve[i] = encode((i / (CURVE_SAMPLES - 1)) ** 4);
    curve.copyWithin(CURVE_SAMPLES, 0, CURVE_SAMPLES); // the same curve for all three channels
    curve.copyWithin(2 * CURVE_SAMPLES, 0, CURVE_SAMPLES);
    const ootf = Float32Array.of(1, 0, 0, 0, 0);
    const matrix = Float32Array.from(MATRICES[name]);
    cache.set(name, Object.freeze({ name, matrix, curve, samples: CURVE_SAMPLES, ootf }));
  }
  return cache.get(name);
}
