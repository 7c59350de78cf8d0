// PNG carriers (docs/blob-format.md §7), read by hand: the chunk walk, the header checks and the
// pixels (zlib, the five row filters, Adam7). Decoders take the last IHDR, zero-fill short image
// data and inflate every iCCP; this reader refuses a second IHDR, inflates the image data into
// exactly the size the header implies (Adler-32 checked) and inflates no ancillary chunk but
// the first iCCP, bounded to 4 MiB (the reference reader refuses the same files).

import { GamutError, MAX_ICC_BYTES } from './blob.js';
import { crc32 } from './crc32.js';
import { inflateBounded } from './inflate.js';
import { checkPixels, MAP_IGNORED, MAX_METADATA_BYTES, repr } from './limits.js';

// The model's chunks: gmLp (blob) and gmRm (residual map), safe-to-copy (4th letter lower
// case), so editors that re-encode the pixels keep them; the pixel digest tells when the pixels
// changed. gmLP and gmRM are the unsafe-to-copy names written before: still read, never written.
const BLOB_CHUNKS = ['gmLp', 'gmLP'];
const MAP_CHUNKS = ['gmRm', 'gmRM'];

const ADAM7 = [
  // first column, column step, first row, row step of the seven passes
  [0, 8, 0, 8],
  [4, 8, 0, 8],
  [0, 4, 4, 8],
  [2, 4, 0, 4],
  [0, 2, 2, 4],
  [1, 2, 0, 2],
  [0, 1, 1, 2],
];

/**
 * The chunks up to IEND, every CRC checked (§7), and the header checks; no pixel decoded.
 * @param {Uint8Array} bytes
 * @param {number} maxPixels checked as soon as IHDR is read
 */
export async function probePng(bytes, maxPixels) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const blobs = { gmLp: [], gmLP: [] };
  const idat = [];
  const iccp = [];
  let header = null;
  let metadata = 0;
  const maps = { gmRm: [], gmRM: [] };
  let pos = 8;
  for (;;) {
    if (pos + 12 > bytes.length) throw new GamutError('PNG is truncated (no IEND chunk)');
    const length = dv.getUint32(pos);
    const typeBytes = bytes.subarray(pos + 4, pos + 8);
    const type = String.fromCharCode(...typeBytes);
    if (length > 0x7fffffff) {
      throw new GamutError(`PNG chunk ${repr(typeBytes)} has an invalid length (file corrupt)`);
    }
    const end = pos + 12 + length;
    if (end > bytes.length) throw new GamutError(`PNG is truncated (in chunk ${repr(typeBytes)})`);
    // Every chunk CRC is checked (§7): a damaged model chunk must not pass as "no blob" (it is
    // the model's damage, kept as null); a damaged map chunk only loses the map (§9).
    const data = bytes.subarray(pos + 8, end - 4);
    if (crc32(bytes.subarray(pos + 4, end - 4)) !== dv.getUint32(end - 4)) {
      const ours = blobs[type] ?? maps[type];
      if (!ours || !header) {
        throw new GamutError(`PNG chunk ${repr(typeBytes)} has a bad CRC (the file is corrupted)`);
      }
      ours.push(null);
      pos = end;
      continue;
    }
    if (!header) {
      if (type !== 'IHDR' || length !== 13) {
        throw new GamutError('PNG does not start with a valid IHDR chunk');
      }
      header = checkHeader(data);
      checkPixels('PNG', header.width, header.height, maxPixels);
    } else if (type === 'IHDR') {
      // Decoders take the last IHDR while the checks here read the first.
      throw new GamutError('PNG has a second IHDR chunk (file corrupt or crafted)');
    }
    if (type === 'IDAT') idat.push(data);
    if (type === 'IEND') break;
    if (typeBytes[0] & 0x20) {
      // Ancillary (lower-case first letter): kept as views, never inflated, bounded in total.
      metadata += length;
      if (metadata > MAX_METADATA_BYTES) {
        throw new GamutError(`PNG holds more than ${MAX_METADATA_BYTES >> 20} MB of metadata`);
      }
      (blobs[type] ?? maps[type])?.push(data);
      if (type === 'iCCP') iccp.push(data);
    }
    pos = end;
  }
  if (!idat.length) throw new GamutError('PNG has no image data (no IDAT chunk)');
  if (iccp.length) await checkIccp(iccp[0]);
  const { payload: blob, damage: modelDamage } = onlyChunk(blobs, BLOB_CHUNKS);
  const { payload: residualMap, damage } = onlyChunk(maps, MAP_CHUNKS);
  const notes = damage ? [`${MAP_IGNORED}: ${damage}`] : [];
  return { ...header, blob, idat, notes, residualMap, modelDamage };
}

/**
 * A copy of the one chunk of a kind a carrier holds at most one of (gmLp or gmLP, gmRm or
 * gmRM), or null, and what is wrong when there is no usable one.
 */
function onlyChunk(found, [name, legacy]) {
  if (found[name].length && found[legacy].length) {
    const damage = `PNG holds both ${legacy} and ${name} chunks (old and new name); it may hold one`;
    return { payload: null, damage };
  }
  const type = found[name].length ? name : legacy;
  const chunks = found[type];
  if (chunks.length > 1) {
    const damage = `PNG holds ${chunks.length} ${type} chunks; a carrier has at most one`;
    return { payload: null, damage };
  }
  if (chunks.length && chunks[0] === null) {
    return { payload: null, damage: `PNG chunk ${type} has a bad CRC` };
  }
  return { payload: chunks.length ? chunks[0].slice() : null, damage: null };
}

/** Only 8-bit RGB/RGBA PNGs are sRGB carriers; say what to do with the others. */
function checkHeader(ihdr) {
  const dv = new DataView(ihdr.buffer, ihdr.byteOffset, 13);
  const [width, height] = [dv.getUint32(0), dv.getUint32(4)];
  const [bitDepth, colourType, compression, filter, interlace] = ihdr.subarray(8, 13);
  if (colourType === 0 || colourType === 4) {
    throw new GamutError('grayscale PNG is not a carrier: it has no colour to restore');
  }
  if (colourType === 3) throw new GamutError('palette PNG is not a carrier: save it as 8-bit RGB');
  if (bitDepth === 16) throw new GamutError('16-bit PNG is not an sRGB carrier');
  if (bitDepth !== 8 || (colourType !== 2 && colourType !== 6)) {
    throw new GamutError(`unsupported PNG (colour type ${colourType}, ${bitDepth}-bit)`);
  }
  if (compression !== 0 || filter !== 0 || interlace > 1) {
    throw new GamutError(
      `unsupported PNG (compression ${compression}, filter ${filter}, interlace ${interlace})`,
    );
  }
  if (width === 0 || height === 0) throw new GamutError(`PNG is empty (${width}x${height} pixels)`);
  return { width, height, channels: colourType === 6 ? 4 : 3, interlace };
}

/**
 * The iCCP chunk (name, NUL, method, zlib stream) must hold a profile of at most 4 MiB: it is
 * not used here, but a 1 MB chunk can claim a gigabyte, and the reference reader refuses it.
 */
async function checkIccp(payload) {
  const nul = payload.subarray(0, 80).indexOf(0);
  if (nul < 0) throw new GamutError('PNG iCCP chunk is corrupt (no profile name)');
  const stream = payload.subarray(nul + 2);
  const { more } = await inflateBounded([stream], MAX_ICC_BYTES, 'PNG iCCP chunk');
  if (more) throw new GamutError(`PNG iCCP chunk inflates past ${MAX_ICC_BYTES >> 20} MB`);
}

/** The passes' (width, height): the whole image, or Adam7's seven (empty ones included). */
function passes({ width, height, interlace }) {
  if (!interlace) return [[width, height, 0, 1, 0, 1]];
  return ADAM7.map(([c0, dc, r0, dr]) => [
    Math.max(0, Math.ceil((width - c0) / dc)),
    Math.max(0, Math.ceil((height - r0) / dr)),
    c0,
    dc,
    r0,
    dr,
  ]);
}

/**
 * The pixels, H*W*channels interleaved; the image data must inflate to exactly the size the
 * header implies (per row a filter byte and the samples, per pass for Adam7).
 * @param {ReturnType<typeof probePng>} head
 * @returns {Promise<Uint8Array>}
 */
export async function decodePng(head) {
  const { width, height, channels } = head;
  const all = passes(head).filter(([w, h]) => w && h);
  const expected = all.reduce((n, [w, h]) => n + h * (1 + w * channels), 0);
  const { data, more } = await inflateBounded(head.idat, expected, 'PNG image data');
  if (more) throw new GamutError('PNG image data is longer than its header says');
  if (data.length !== expected) {
    throw new GamutError(`PNG image data is truncated (${data.length} of ${expected} bytes)`);
  }
  const out = new Uint8Array(width * height * channels);
  let at = 0;
  for (const [w, h, c0, dc, r0, dr] of all) {
    const stride = w * channels;
    let prev = new Uint8Array(stride); // the row above the first row is zeros
    for (let y = 0; y < h; y++) {
      const row = data.subarray(at + 1, at + 1 + stride);
      unfilter(data[at], row, prev, channels, r0 + y * dr);
      at += 1 + stride;
      if (dc === 1) out.set(row, (r0 + y * dr) * width * channels);
      else {
        for (let x = 0; x < w; x++) {
          const o = ((r0 + y * dr) * width + c0 + x * dc) * channels;
          for (let k = 0; k < channels; k++) out[o + k] = row[x * channels + k];
        }
      }
      prev = row;
    }
  }
  return out;
}

/** Undo one row's filter in place (PNG spec §9.2); `prev` is the unfiltered row above. */
function unfilter(type, row, prev, bpp, y) {
  const n = row.length;
  switch (type) {
    case 0:
      return;
    case 1:
      for (let i = bpp; i < n; i++) row[i] = (row[i] + row[i - bpp]) & 0xff;
      return;
    case 2:
      for (let i = 0; i < n; i++) row[i] = (row[i] + prev[i]) & 0xff;
      return;
    case 3:
      for (let i = 0; i < bpp; i++) row[i] = (row[i] + (prev[i] >> 1)) & 0xff;
      for (let i = bpp; i < n; i++) row[i] = (row[i] + ((row[i - bpp] + prev[i]) >> 1)) & 0xff;
      return;
    case 4:
      for (let i = 0; i < bpp; i++) row[i] = (row[i] + prev[i]) & 0xff;
      for (let i = bpp; i < n; i++) {
        const a = row[i - bpp];
        const b = prev[i];
        const c = prev[i - bpp];
        const pa = Math.abs(b - c); // |p - a| with p = a + b - c
        const pb = Math.abs(a - c);
        const pc = Math.abs(a + b - 2 * c);
        row[i] = (row[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 0xff;
      }
      return;
    default:
      throw new GamutError(`PNG image data is corrupt (filter type ${type} in row ${y})`);
  }
}
