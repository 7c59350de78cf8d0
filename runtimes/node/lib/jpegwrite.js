// A baseline JPEG written from quantised coefficients (no DCT, no colour): how a turned carrier
// is turned back exactly (docs/blob-format.md §4.4). Decoders round the IDCT of turned blocks
// differently, so the turned file's pixels turned back are off by a code here and there; the
// turned-back coefficients, written with the frame's tables and decoded by the same decoder,
// give the very pixels the untouched carrier gives. Fixed-length Huffman codes (4 bits for DC
// sizes, 8 for AC symbols): the file only lives in memory until it is decoded.

import { GamutError } from './blob.js';
import { ZIGZAG } from './jpegcoef.js';

// AC symbols: end of block, sixteen zeros, then run (0-15) << 4 | size (1-10); code = index.
const AC_SYMBOLS = [0x00, 0xf0];
for (let run = 0; run < 16; run++) {
  for (let size = 1; size <= 10; size++) AC_SYMBOLS.push((run << 4) | size);
}
const AC_CODE = new Int16Array(256).fill(-1);
AC_SYMBOLS.forEach((symbol, i) => (AC_CODE[symbol] = i));

/** Bits, most significant first, with a 0x00 after every 0xFF byte (T.81 F.1.2.3). */
class BitWriter {
  constructor(size) {
    this.out = new Uint8Array(size);
    this.length = 0;
    this.acc = 0;
    this.n = 0;
  }

  push(byte) {
    if (this.length === this.out.length) {
      const grown = new Uint8Array(this.out.length * 2);
      grown.set(this.out);
      this.out = grown;
    }
    this.out[this.length++] = byte;
  }

  write(value, bits) {
    this.acc = (this.acc << bits) | (value & ((1 << bits) - 1));
    this.n += bits;
    while (this.n >= 8) {
      this.n -= 8;
      const byte = (this.acc >>> this.n) & 255;
      this.push(byte);
      if (byte === 0xff) this.push(0);
    }
    this.acc &= (1 << this.n) - 1;
  }

  /** Pad the last byte with ones and return the bytes. */
  finish() {
    if (this.n) this.write((1 << (8 - this.n)) - 1, 8 - this.n);
    return this.out.subarray(0, this.length);
  }
}

const size = (v) => (v === 0 ? 0 : 32 - Math.clz32(Math.abs(v)));

function writeBlock(w, c, o, comp) {
  const diff = c[o] - comp.pred;
  comp.pred = c[o];
  const s = size(diff);
  if (s > 11) throw new GamutError('JPEG coefficient out of range for 8-bit precision');
  w.write(s, 4);
  w.write(diff < 0 ? diff + (1 << s) - 1 : diff, s);
  let run = 0;
  for (let k = 1; k < 64; k++) {
    const v = c[o + ZIGZAG[k]];
    if (v === 0) {
      run++;
      continue;
    }
    for (; run > 15; run -= 16) w.write(AC_CODE[0xf0], 8);
    const t = size(v);
    if (t > 10) throw new GamutError('JPEG coefficient out of range for 8-bit precision');
    w.write(AC_CODE[(run << 4) | t], 8);
    w.write(v < 0 ? v + (1 << t) - 1 : v, t);
    run = 0;
  }
  if (run) w.write(AC_CODE[0x00], 8);
}

const segment = (marker, payload) => {
  const out = new Uint8Array(4 + payload.length);
  out.set([0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 255]);
  out.set(payload, 4);
  return out;
};
const ascii = (text) => Array.from(text, (ch) => ch.charCodeAt(0));

/**
 * A baseline JPEG of these coefficients (jpegdigest.js's {frame, planes}): the frame's size,
 * components, sampling and quantisation tables, its JFIF / Adobe marker, one interleaved scan.
 * @returns {Uint8Array}
 */
export function baselineJpeg({ frame, planes }) {
  const { width, height, components } = frame;
  const hmax = Math.max(...components.map((c) => c.h));
  const vmax = Math.max(...components.map((c) => c.v));
  const mcusPerLine = Math.ceil(width / (8 * hmax));
  const mcusPerColumn = Math.ceil(height / (8 * vmax));
  const parts = [Uint8Array.of(0xff, 0xd8)];
  if (frame.jfif) parts.push(segment(0xe0, [...ascii('JFIF\0'), 1, 1, 0, 0, 1, 0, 1, 0, 0]));
  if (frame.adobe !== 255) {
    parts.push(segment(0xee, [...ascii('Adobe'), 0, 100, 0, 0, 0, 0, frame.adobe]));
  }
  components.forEach((c, i) => {
    const wide = c.table.some((q) => q > 255);
    const dqt = [(wide ? 0x10 : 0) | i];
    for (let k = 0; k < 64; k++) {
      const q = c.table[ZIGZAG[k]];
      if (wide) dqt.push(q >> 8, q & 255);
      else dqt.push(q);
    }
    parts.push(segment(0xdb, dqt));
  });
  const sof = [8, height >> 8, height & 255, width >> 8, width & 255, components.length];
  components.forEach((c, i) => sof.push(c.id, (c.h << 4) | c.v, i));
  parts.push(segment(0xc0, sof));
  const dcCounts = new Array(16).fill(0);
  dcCounts[3] = 12; // twelve 4-bit codes: sizes 0..11
  const acCounts = new Array(16).fill(0);
  acCounts[7] = AC_SYMBOLS.length; // 162 8-bit codes
  const dcValues = Array.from({ length: 12 }, (_, i) => i);
  parts.push(segment(0xc4, [0x00, ...dcCounts, ...dcValues, 0x10, ...acCounts, ...AC_SYMBOLS]));
  const sos = [components.length];
  for (const c of components) sos.push(c.id, 0x00);
  parts.push(segment(0xda, [...sos, 0, 63, 0]));
  const w = new BitWriter(1 << 16);
  const padding = new Int16Array(64); // blocks that only fill the last MCUs: decoders drop them
  const state = components.map(() => ({ pred: 0 }));
  for (let my = 0; my < mcusPerColumn; my++) {
    for (let mx = 0; mx < mcusPerLine; mx++) {
      components.forEach((c, i) => {
        const { rows, cols, data } = planes[i];
        for (let y = 0; y < c.v; y++) {
          for (let x = 0; x < c.h; x++) {
            const [row, col] = [my * c.v + y, mx * c.h + x];
            if (row < rows && col < cols) writeBlock(w, data, (row * cols + col) * 64, state[i]);
            else writeBlock(w, padding, 0, state[i]);
          }
        }
      });
    }
  }
  parts.push(w.finish(), Uint8Array.of(0xff, 0xd9));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
