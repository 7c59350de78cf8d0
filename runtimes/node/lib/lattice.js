// Blob record 131, the source's code lattice (docs/blob-format.md §3.1): checked as strictly as the
// weights, and fed to restore.onnx, which snaps restored colours onto it (§5.3). Shared by the Node
// package and the browser page: plain ESM, no Node built-ins.

/** Record type 131: the source's code lattice. */
export const RECORD_LATTICE = 131;
const MAX_LEVELS = 1024;
const MAX_MATRIX_ENTRY = 16;
const HEAD_BYTES = 4; // mode (u8), curves (u8), levels (u16)
const MATRIX_BYTES = 2 * 9 * 4;

/**
 * @typedef {object} Lattice
 * @property {number} mode 1: snap pixels the MLP does not run on, 2: restored pixels, 3: both
 * @property {number} curves 1 (shared by the three channels) or 3
 * @property {number} levels codes per channel
 * @property {Float32Array} matrices [2, 3, 3]: linear ProPhoto -> source, source -> ProPhoto
 * @property {Float32Array} codes [curves, levels]: the linear value of each code
 */

/**
 * Record 131's payload, with the reference reader's reasons (gamut_onnx/colour/lattice.py).
 * @param {Uint8Array} payload
 * @param {(reason: string) => Error} fail
 * @returns {Lattice}
 */
export function parseLattice(payload, fail) {
  if (payload.length < HEAD_BYTES) throw fail('lattice record is truncated');
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const [mode, curves, levels] = [payload[0], payload[1], dv.getUint16(2, true)];
  if (mode < 1 || mode > 3) throw fail(`lattice record mode ${mode} (expected 1 to 3)`);
  if ((curves !== 1 && curves !== 3) || levels < 2 || levels > MAX_LEVELS) {
    throw fail(`lattice record has ${curves} curves of ${levels} codes`);
  }
  const expected = HEAD_BYTES + MATRIX_BYTES + 4 * curves * levels;
  if (payload.length !== expected) {
    throw fail(`lattice record is ${payload.length} bytes, its header says ${expected}`);
  }
  const values = new Float32Array((expected - HEAD_BYTES) / 4);
  for (let i = 0; i < values.length; i++) values[i] = dv.getFloat32(HEAD_BYTES + 4 * i, true);
  if (!values.every(Number.isFinite)) throw fail('lattice record holds NaN or infinity');
  const matrices = values.slice(0, 18);
  const codes = values.slice(18);
  if (matrices.some((v) => Math.abs(v) > MAX_MATRIX_ENTRY)) {
    throw fail(`lattice record matrix entries exceed +-${MAX_MATRIX_ENTRY}`);
  }
  const increasing = codes.every(
    (v, i) => v >= 0 && v <= 1 && (i % levels === 0 || v > codes[i - 1]),
  );
  if (!increasing) throw fail('lattice record codes are not strictly increasing within [0, 1]');
  return { mode, curves, levels, matrices, codes };
}

const IDENTITIES = Float32Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1);

/**
 * restore.onnx's lattice inputs; a blob without record 131 gets mode 0 (the step is skipped).
 * @param {object} ort
 * @param {Lattice|null} lattice
 */
export function latticeFeeds(ort, lattice) {
  if (!lattice) {
    return {
      lattice_matrices: new ort.Tensor('float32', IDENTITIES.slice(), [2, 3, 3]),
      lattice_codes: new ort.Tensor('float32', Float32Array.of(0, 1), [1, 2]),
      lattice_mode: new ort.Tensor('int64', BigInt64Array.of(0n), []),
    };
  }
  return {
    lattice_matrices: new ort.Tensor('float32', lattice.matrices, [2, 3, 3]),
    lattice_codes: new ort.Tensor('float32', lattice.codes, [lattice.curves, lattice.levels]),
    lattice_mode: new ort.Tensor('int64', BigInt64Array.of(BigInt(lattice.mode)), []),
  };
}
