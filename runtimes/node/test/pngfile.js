// PNG files built for tests (png.test.js, the page's drop-in test): chunks with their CRCs,
// every row filter type in turn, Adam7 or not, random or given pixels.

import { deflateSync } from 'node:zlib';

import { crc32 } from '../lib/crc32.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const ADAM7 = [[0, 8, 0, 8], [4, 8, 0, 8], [0, 4, 4, 8], [2, 4, 0, 4], [0, 2, 2, 4], [1, 2, 0, 2],
  [0, 1, 1, 2]]; // prettier-ignore

/** One chunk: length, type (4 bytes, any values), data, CRC of type + data. */
export function chunk(type, data = new Uint8Array(0)) {
  const typeBytes = typeof type === 'string' ? Buffer.from(type, 'latin1') : type;
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  out.set(typeBytes, 4);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export function ihdr(width, height, { colour = 2, depth = 8, interlace = 0 } = {}) {
  const data = new Uint8Array(13);
  const dv = new DataView(data.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  data.set([depth, colour, 0, 0, interlace], 8);
  return chunk('IHDR', data);
}

export const png = (...chunks) => Buffer.concat([Buffer.from(SIGNATURE), ...chunks]);

/** PNG row filter `type` applied to `row` (the unfiltered row above: `prev`). */
function filterRow(type, row, prev, bpp) {
  const out = new Uint8Array(row.length + 1);
  out[0] = type;
  for (let i = 0; i < row.length; i++) {
    const a = i >= bpp ? row[i - bpp] : 0;
    const b = prev[i];
    const c = i >= bpp ? prev[i - bpp] : 0;
    const p = a + b - c;
    const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
    const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][type];
    out[i + 1] = (row[i] - predictor) & 0xff;
  }
  return out;
}

/** The raw image data of `pixels` (H*W*channels), every filter type in turn, Adam7 or not. */
function imageData(pixels, width, height, channels, interlace) {
  const passes = interlace ? ADAM7 : [[0, 1, 0, 1]];
  const rows = [];
  let type = 0;
  for (const [c0, dc, r0, dr] of passes) {
    const w = Math.max(0, Math.ceil((width - c0) / dc));
    let prev = new Uint8Array(w * channels);
    for (let y = r0; y < height && w; y += dr) {
      const row = new Uint8Array(w * channels);
      for (let x = 0; x < w; x++) {
        const from = (y * width + c0 + x * dc) * channels;
        row.set(pixels.subarray(from, from + channels), x * channels);
      }
      rows.push(filterRow(type++ % 5, row, prev, channels));
      prev = row;
    }
  }
  return Buffer.concat(rows);
}

function randomPixels(count, seed = 1) {
  const out = new Uint8Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** A complete RGB(A) PNG of random pixels; `before` chunks go between IHDR and IDAT. */
export function buildPng(
  width,
  height,
  { channels = 3, interlace = 0, before = [], seed = 1 } = {},
) {
  const pixels = randomPixels(width * height * channels, seed);
  const raw = imageData(pixels, width, height, channels, interlace);
  const colour = channels === 4 ? 6 : 2;
  const file = png(
    ihdr(width, height, { colour, interlace }),
    ...before,
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND'),
  );
  return { file, pixels, raw };
}

