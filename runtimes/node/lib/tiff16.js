// The restored output file (docs/blob-format.md §7, last paragraph): a 16-bit RGB(A) TIFF with an
// ICC profile, from the codes output.onnx makes: little-endian, one IFD, tags in ascending
// order, deflate (zlib level 1, as the reference writer) with horizontal predictor, strips of
// about 256 KiB (the reference writes 256 x 256 tiles; readers see the same image). Rows arrive
// band by band and each strip is deflated on libuv's thread pool while the next band restores.
// Written by hand: the JS TIFF libraries write uncompressed files only. Node only (node:zlib).

import { endianness } from 'node:os';
import { promisify } from 'node:util';
import { deflate } from 'node:zlib';

const deflateAsync = promisify(deflate);
const ZLIB_LEVEL = 1; // restored images are working files: speed over the last percent of size
const STRIP_BYTES = 262144;
// zlib's largest hash memory: a sixth less deflate time on restored 16-bit rows, and smaller.
const ZLIB_MEMORY = 9;
const LITTLE = endianness() === 'LE';

/** Each sample minus its left neighbour, mod 2^16 (TIFF predictor 2), row by row, in place. */
function predict(samples, rows, rowLength, spp) {
  for (let y = 0; y < rows; y++) {
    const base = y * rowLength;
    for (let k = base + rowLength - 1; k >= base + spp; k--) samples[k] -= samples[k - spp];
  }
}

/**
 * A TIFF written as rows arrive: `add` codes band by band (in order), then `finish`.
 * @param {{width: number, height: number, alpha?: Uint8Array|null, icc: Uint8Array}} image
 *   alpha: H*W straight 8-bit alpha, written as a 4th sample scaled by 257
 */
export function tiffWriter({ width, height, alpha = null, icc }) {
  const spp = alpha ? 4 : 3;
  const rowLength = width * spp;
  const rowsPerStrip = Math.min(height, Math.max(1, Math.floor(STRIP_BYTES / (rowLength * 2))));
  const strips = [];
  let strip = new Uint16Array(rowsPerStrip * rowLength);
  let filled = 0; // rows of `strip` filled so far
  let next = 0; // the next image row expected

  function flush() {
    const samples = filled === rowsPerStrip ? strip : strip.subarray(0, filled * rowLength);
    predict(samples, filled, rowLength, spp);
    const bytes = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    if (!LITTLE) bytes.swap16();
    // One output chunk per strip: the default 16 KiB chunks cost the main thread a callback each.
    const options = { level: ZLIB_LEVEL, memLevel: ZLIB_MEMORY, chunkSize: STRIP_BYTES };
    strips.push(deflateAsync(bytes, options));
    strip = new Uint16Array(rowsPerStrip * rowLength); // the last one is still being deflated
    filled = 0;
  }

  return {
    rowsPerStrip,
    /**
     * @param {Uint16Array} codes rows*W*3 RGB codes of image rows [top, top + rows)
     * @param {number} top
     * @param {number} rows
     */
    add(codes, top, rows) {
      if (top !== next || top + rows > height) {
        throw new RangeError(`rows ${top} to ${top + rows} out of order`);
      }
      next += rows;
      for (let y = 0; y < rows; ) {
        const take = Math.min(rows - y, rowsPerStrip - filled);
        if (alpha) {
          for (let i = 0; i < take * width; i++) {
            const from = (y * width + i) * 3;
            const to = filled * rowLength + i * 4;
            strip[to] = codes[from];
            strip[to + 1] = codes[from + 1];
            strip[to + 2] = codes[from + 2];
            strip[to + 3] = alpha[(top + y) * width + i] * 257;
          }
        } else {
          strip.set(codes.subarray(y * rowLength, (y + take) * rowLength), filled * rowLength);
        }
        filled += take;
        y += take;
        if (filled === rowsPerStrip || top + y === height) flush();
      }
    },
    /** @returns {Promise<Uint8Array>} the file, once every strip is deflated */
    async finish() {
      if (next !== height) throw new RangeError(`${next} of ${height} rows written`);
      return assemble(width, height, spp, rowsPerStrip, await Promise.all(strips), icc);
    },
  };
}

/** The file around its deflated strips. */
function assemble(width, height, spp, rowsPerStrip, strips, icc) {
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
    ...(spp === 4 ? [[338, 3, 1, shorts(2)]] : []), // unassociated alpha
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
