// A tiny .npy reader for the conformance vectors' tensors: little-endian float32, uint16 or
// uint8, C order, format 1.0-3.0. Also used by the browser test (runtimes/web/test).

const TYPES = {
  '<f4': [Float32Array, 'getFloat32'],
  '<u2': [Uint16Array, 'getUint16'],
  '|u1': [Uint8Array, 'getUint8'],
};

/**
 * @param {Uint8Array} bytes
 * @returns {{shape: number[], data: Float32Array|Uint16Array|Uint8Array}}
 */
export function readNpy(bytes) {
  const magic = String.fromCharCode(...bytes.subarray(0, 6));
  if (magic !== '\x93NUMPY') throw new Error('not a .npy file');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const major = bytes[6];
  const headerLength = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLength;
  const header = new TextDecoder().decode(bytes.subarray(major === 1 ? 10 : 12, start));
  const [Type, get] = TYPES[header.match(/'descr':\s*'([^']*)'/)?.[1]] ?? [];
  if (!Type || /'fortran_order':\s*True/.test(header)) {
    throw new Error(`unsupported .npy header ${header.trim()}`);
  }
  const shape = header
    .match(/'shape':\s*\(([^)]*)\)/)[1]
    .split(',')
    .filter((s) => s.trim())
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Type(count);
  const size = Type.BYTES_PER_ELEMENT;
  for (let i = 0; i < count; i++) data[i] = dv[get](start + size * i, true);
  return { shape, data };
}

/** Largest absolute difference between two equally long arrays. */
export function maxAbsError(a, b) {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}
