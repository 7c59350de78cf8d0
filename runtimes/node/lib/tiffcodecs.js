// TIFF's own compressions (TIFF 6.0 §9 PackBits, §13 LZW), decoding at most `limit` bytes: a
// strip never yields more than the image needs from it, however many codes it holds.

import { GamutError } from './blob.js';

/**
 * TIFF LZW: MSB-first codes of 9 to 12 bits, Clear = 256, EOI = 257, the code width growing one
 * code early (as libtiff writes it).
 * @param {Uint8Array} src
 * @param {number} limit
 * @param {string} what names the strip or tile in messages
 */
export function lzwDecode(src, limit, what) {
  const out = new Uint8Array(limit);
  const prefix = new Uint16Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  const length = new Uint16Array(4096);
  for (let i = 0; i < 256; i++) [suffix[i], first[i], length[i]] = [i, i, 1];
  const bits = src.length * 8;
  let [pos, width, next, prev, size] = [0, 9, 258, -1, 0];
  while (pos + width <= bits && size < limit) {
    // The code: `width` bits from bit `pos`, most significant first (3 bytes always suffice).
    const byte = pos >> 3;
    const word = (src[byte] << 16) | ((src[byte + 1] ?? 0) << 8) | (src[byte + 2] ?? 0);
    const code = (word >> (24 - (pos & 7) - width)) & ((1 << width) - 1);
    pos += width;
    if (code === 257) break;
    if (code === 256) {
      [width, next, prev] = [9, 258, -1];
      continue;
    }
    if (code > next || (prev < 0 && code > 255)) {
      throw new GamutError(`${what} is corrupt (LZW code ${code} before its table entry)`);
    }
    if (prev >= 0 && next < 4096) {
      // The new entry is the previous string plus the first byte of this one.
      prefix[next] = prev;
      suffix[next] = code === next ? first[prev] : first[code];
      first[next] = first[prev];
      length[next] = length[prev] + 1;
      next++;
    }
    // Write the string of `code` backwards from its end, cut at the limit.
    const n = length[code];
    for (let c = code, at = size + n - 1; at >= size; at--, c = prefix[c]) {
      if (at < limit) out[at] = suffix[c];
    }
    size = Math.min(limit, size + n);
    prev = code;
    if (next + 1 >= 1 << width && width < 12) width++;
  }
  return out.subarray(0, size);
}

/**
 * PackBits: a header byte n, then n + 1 literal bytes (n < 128) or one byte repeated 257 - n
 * times (n > 128); 128 is a no-op.
 * @param {Uint8Array} src
 * @param {number} limit
 */
export function packBitsDecode(src, limit) {
  const out = new Uint8Array(limit);
  let [at, size] = [0, 0];
  while (at < src.length && size < limit) {
    const n = src[at++];
    if (n < 128) {
      const run = src.subarray(at, at + n + 1).subarray(0, limit - size);
      out.set(run, size);
      size += run.length;
      at += n + 1;
    } else if (n > 128) {
      if (at >= src.length) break;
      const end = Math.min(limit, size + 257 - n);
      out.fill(src[at++], size, end);
      size = end;
    }
  }
  return out.subarray(0, size);
}
