// zlib (RFC 1950) inflation of image data with a hard bound on the output, on the platform's
// DecompressionStream (Node >= 18 and browsers: native zlib, which checks the Adler-32 and
// reports truncation). Shared by Node and the browser page.
//
// A stream inflates each piece written to it completely (Chromium: a 1 MB piece of zeros makes
// 1 GB before the reader sees any), so the input goes in small pieces, the next only once the
// output of the last has been read, and reading stops as soon as the bound is passed: a small
// stream that claims gigabytes costs a few milliseconds.

import { GamutError } from './blob.js';
import { oneLine } from './limits.js';

const PIECE = 16 << 10; // at most about 16 MB of output each (deflate's ratio is below 1032:1)

let syncInflate = null;

/**
 * A faster inflater where the platform has one (Node: node:zlib's inflateSync, four times the
 * speed of a DecompressionStream fed in pieces). It must stop past `limit` bytes of output and
 * throw with code 'ERR_BUFFER_TOO_LARGE' (then the stream path below reads the first `limit`),
 * or with zlib's code and message ('Z_BUF_ERROR' for a truncated stream).
 * @param {((data: Uint8Array, limit: number) => Uint8Array)|null} inflate
 */
export function useSyncInflate(inflate) {
  syncInflate = inflate;
}

/** Where the stream's error says what went wrong: truncated or corrupt. */
function failure(err, what) {
  const detail = oneLine(err?.message ?? err, 80);
  // Node: code Z_BUF_ERROR "unexpected end of file"; browsers: a TypeError.
  if (err?.code === 'Z_BUF_ERROR') return new GamutError(`${what} is truncated (${detail})`);
  return new GamutError(`${what} is corrupt (${detail})`);
}

/** The parts joined (the one part itself when there is one). */
export function concat(parts) {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Inflate `parts` (one zlib stream, in pieces) into at most `limit` bytes.
 * @param {Uint8Array[]} parts
 * @param {number} limit
 * @param {string} what names the data in messages, e.g. 'PNG image data'
 * @returns {Promise<{data: Uint8Array, more: boolean}>} the first min(size, limit) bytes; `more`
 *   when the stream holds more than `limit`
 */
export async function inflateBounded(parts, limit, what) {
  if (syncInflate && limit > 0) {
    try {
      return { data: syncInflate(concat(parts), limit), more: false };
    } catch (err) {
      if (err?.code !== 'ERR_BUFFER_TOO_LARGE') throw failure(err, what);
    }
  }
  const out = new Uint8Array(limit);
  const stream = new DecompressionStream('deflate');
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  let stopped = false;
  const feed = async () => {
    for (const part of parts) {
      for (let at = 0; at < part.length; at += PIECE) {
        await writer.ready; // resolves once the output so far has been read
        if (stopped) return;
        writer.write(part.subarray(at, at + PIECE)).catch(() => {});
      }
    }
    await writer.ready;
    if (!stopped) await writer.close();
  };
  feed().catch(() => {}); // a failure of the stream comes back through the reader
  let size = 0;
  try {
    for (;;) {
      let step;
      try {
        step = await reader.read();
      } catch (err) {
        throw failure(err, what);
      }
      if (step.done) return { data: out.subarray(0, size), more: false };
      const room = limit - size;
      out.set(step.value.subarray(0, room), size);
      size += Math.min(room, step.value.length);
      if (step.value.length > room) return { data: out, more: true };
    }
  } finally {
    stopped = true;
    reader.cancel().catch(() => {}); // stops the inflater: nothing past the bound is made
  }
}
