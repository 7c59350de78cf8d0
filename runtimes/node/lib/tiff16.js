// The restored output file (docs/blob-format.md §7, last paragraph): a 16-bit ROMM-encoded
// ProPhoto TIFF with the ProPhoto ICC profile, the pixels of `gamut-onnx decode --space prophoto`:
// little-endian, one IFD, tags in ascending order, deflate (level 6) with horizontal predictor,
// strips of about 256 KiB (the reference writes 256 x 256 tiles; readers see the same image).
// Written by hand: the JS TIFF libraries write uncompressed files only.
// Node only (node:zlib).

import { deflateSync } from 'node:zlib';

import { GamutError } from './blob.js';

const f32 = Math.fround;
const ROMM_ET = 1 / 512;
const INV_GAMMA = f32(1 / 1.8);

/** numpy's rint: round half to even. */
function rint(v) {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
}

/** Linear [0, 1] -> ROMM-encoded 16 bit, in float32 steps as the reference does. */
export function romm16(x) {
  if (Number.isNaN(x)) throw new GamutError('restored image contains NaN values');
  const v = f32(Math.min(Math.max(x, 0), 1));
  const enc = v < ROMM_ET ? f32(v * 16) : f32(v ** INV_GAMMA);
  return rint(f32(enc * 65535));
}

/**
 * Encode a restore result as a 16-bit ProPhoto TIFF file.
 * @param {{width: number, height: number, data: Float32Array, alpha?: Uint8Array}} image
 * @param {Uint8Array} icc the ProPhoto ICC profile
 * @returns {Uint8Array}
 */
export function encodeRestoredTiff({ width, height, data, alpha }, icc) {
  const spp = alpha ? 4 : 3;
  const rowBytes = width * spp * 2;
  const rowsPerStrip = Math.min(height, Math.max(1, Math.floor(262144 / rowBytes)));
  const strips = [];
  for (let y0 = 0; y0 < height; y0 += rowsPerStrip) {
    const rows = Math.min(rowsPerStrip, height - y0);
    const samples = new Uint16Array(rows * width * spp);
    for (let y = 0; y < rows; y++) {
      const base = y * width * spp;
      for (let x = 0; x < width; x++) {
        const i = (y0 + y) * width + x;
        const o = base + x * spp;
        samples[o] = romm16(data[3 * i]);
        samples[o + 1] = romm16(data[3 * i + 1]);
        samples[o + 2] = romm16(data[3 * i + 2]);
        if (alpha) samples[o + 3] = alpha[i] * 257;
      }
      // Horizontal predictor (TIFF tag 317 = 2): each sample minus its left neighbour, mod 2^16.
      for (let k = width * spp - 1; k >= spp; k--) samples[base + k] -= samples[base + k - spp];
    }
    const le = new Uint8Array(samples.length * 2);
    const dv = new DataView(le.buffer);
    samples.forEach((s, k) => dv.setUint16(2 * k, s, true));
    strips.push(deflateSync(le, { level: 6 }));
  }

  // Tag entries: [code, type, count, value bytes]. Types: 2 ASCII, 3 SHORT, 4 LONG, 5 RATIONAL,
  // 7 UNDEFINED. Offsets are patched in once the layout is known.
  const shorts = (...v) => {
    const b = new Uint8Array(v.length * 2);
    v.forEach((s, k) => new DataView(b.buffer).setUint16(2 * k, s, true));
    return b;
  };
  const longs = (...v) => {
    const b = new Uint8Array(v.length * 4);
    v.forEach((s, k) => new DataView(b.buffer).setUint32(4 * k, s, true));
    return b;
  };
  const n = strips.length;
  const tags = [
    [256, 4, 1, longs(width)],
    [257, 4, 1, longs(height)],
    [258, 3, spp, shorts(...Array(spp).fill(16))],
    [259, 3, 1, shorts(8)], // deflate
    [262, 3, 1, shorts(2)], // RGB
    [273, 4, n, longs(...Array(n).fill(0))], // strip offsets, patched below
    [277, 3, 1, shorts(spp)],
    [278, 4, 1, longs(rowsPerStrip)],
    [279, 4, n, longs(...strips.map((s) => s.length))],
    [282, 5, 1, longs(1, 1)],
    [283, 5, 1, longs(1, 1)],
    [284, 3, 1, shorts(1)], // contiguous
    [296, 3, 1, shorts(1)],
    [305, 2, 11, new TextEncoder().encode('gamut-onnx\0')],
    [317, 3, 1, shorts(2)],
    ...(alpha ? [[338, 3, 1, shorts(2)]] : []), // unassociated alpha
    [34675, 7, icc.length, icc],
  ];
  const ifdEnd = 8 + 2 + tags.length * 12 + 4;
  let at = ifdEnd;
  const placed = tags.map(([, , , value]) => {
    if (value.length <= 4) return null;
    const offset = at;
    at += value.length + (value.length % 2); // word-aligned values
    return offset;
  });
  const dataStart = Math.ceil(at / 16) * 16; // tifffile aligns image data to 16 bytes
  const offsets = [];
  let total = dataStart;
  for (const s of strips) {
    offsets.push(total);
    total += s.length;
  }
  tags[5][3] = longs(...offsets);

  const file = new Uint8Array(total);
  const dv = new DataView(file.buffer);
  file.set([0x49, 0x49, 42, 0]);
  dv.setUint32(4, 8, true);
  dv.setUint16(8, tags.length, true);
  tags.forEach(([code, type, count, value], k) => {
    const e = 10 + 12 * k;
    dv.setUint16(e, code, true);
    dv.setUint16(e + 2, type, true);
    dv.setUint32(e + 4, count, true);
    if (placed[k] === null) file.set(value, e + 8);
    else {
      dv.setUint32(e + 8, placed[k], true);
      file.set(value, placed[k]);
    }
  });
  strips.forEach((s, k) => file.set(s, offsets[k]));
  return file;
}
