// TIFF carriers (docs/blob-format.md §7), read by hand, classic and BigTIFF: the first IFD only.
// TIFF libraries trust counts and offsets (a 1 KB file can claim gigabytes of tag data or loop
// its IFD chain), so every entry of the first IFD is checked against the file before any value
// is read, the size limit is applied from the header, and each strip or tile must lie inside
// the file and decodes into at most the bytes the image needs from it. Compressions: none,
// LZW, deflate, PackBits, with or without the horizontal predictor; chunky or planar.

import { GamutError } from './blob.js';
import { inflateBounded } from './inflate.js';
import { checkPixels, MAX_METADATA_BYTES } from './limits.js';
import { lzwDecode, packBitsDecode } from './tiffcodecs.js';

export const TIFF_BLOB_TAG = 65117;
export const REWRITTEN_TAG =
  'another program rewrote the model tag (TIFF tag 65117 is no longer raw bytes): decoding as ' +
  'plain sRGB; re-encode the original to restore its colours';

// prettier-ignore
const TYPE_SIZES = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8,
  13: 4, 16: 8, 17: 8, 18: 8 };
const [BYTE, UNDEFINED] = [1, 7];
const [WIDTH, LENGTH, BITS, COMPRESSION, PHOTOMETRIC, FILL_ORDER] = [256, 257, 258, 259, 262, 266];
const [STRIP_OFFSETS, SAMPLES, ROWS_PER_STRIP, STRIP_BYTES, PLANAR] = [273, 277, 278, 279, 284];
const [PREDICTOR, TILE_WIDTH, TILE_LENGTH, TILE_OFFSETS, TILE_BYTES] = [317, 322, 323, 324, 325];
const [EXTRA_SAMPLES, SAMPLE_FORMAT] = [338, 339];
const COMPRESSIONS = { 1: 'none', 5: 'LZW', 8: 'deflate', 32946: 'deflate', 32773: 'PackBits' };
// prettier-ignore
const PHOTOMETRIC_NAMES = { 0: 'grayscale', 1: 'grayscale', 3: 'palette', 5: 'CMYK',
  6: 'YCbCr', 8: 'Lab' };
const thousands = (n) => n.toLocaleString('en-US');

/** The first IFD: tag -> {type, count, at} (where its value bytes are), all inside the file. */
function firstIfd(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const le = bytes[0] === 0x49;
  const u16 = (at) => dv.getUint16(at, le);
  const u32 = (at) => dv.getUint32(at, le);
  // 64-bit values above 2^53 lose precision, but lie far past any file anyway.
  const u64 = (at) => u32(at + (le ? 4 : 0)) * 2 ** 32 + u32(at + (le ? 0 : 4));
  const big = u16(2) === 43;
  if (big && (bytes.length < 16 || u16(4) !== 8 || u16(6) !== 0)) {
    throw new GamutError('TIFF (BigTIFF) header is truncated or corrupt');
  }
  const [entrySize, inline, head] = big ? [20, 8, 8] : [12, 4, 2];
  const offset = big ? u64 : u32;
  const ifd = offset(big ? 8 : 4);
  if (ifd < 8 || ifd + head > bytes.length) {
    throw new GamutError("TIFF's first image directory lies outside the file");
  }
  const count = big ? u64(ifd) : u16(ifd);
  if (count === 0 || ifd + head + count * entrySize > bytes.length) {
    throw new GamutError(`TIFF's first image directory claims ${count} entries past the file`);
  }
  const entries = new Map();
  for (let i = 0; i < count; i++) {
    const at = ifd + head + i * entrySize;
    const [tag, type] = [u16(at), u16(at + 2)];
    const values = offset(at + 4);
    if (!TYPE_SIZES[type]) throw new GamutError(`TIFF tag ${tag} has an unknown type (${type})`);
    const size = values * TYPE_SIZES[type];
    if (size > MAX_METADATA_BYTES) {
      throw new GamutError(`TIFF tag ${tag} claims ${thousands(size)} bytes of data`);
    }
    let valueAt = at + 4 + inline;
    if (size > inline) {
      valueAt = offset(valueAt);
      if (valueAt < 8 || valueAt + size > bytes.length) {
        throw new GamutError(`TIFF tag ${tag} points past the end of the file (truncated?)`);
      }
    }
    // A repeated tag: the first counts, as in libtiff and tifffile (each is checked above).
    if (!entries.has(tag)) entries.set(tag, { type, count: values, at: valueAt });
  }
  return { entries, le, dv };
}

/**
 * Integer values of a tag (the first 16 unless `all`); a missing (or empty) tag gives [dflt], or
 * an error without one.
 */
function integers({ entries, le, dv }, tag, dflt, all = false) {
  const entry = entries.get(tag);
  if (!entry || (entry.count === 0 && dflt !== undefined)) {
    if (dflt === undefined) throw new GamutError(`TIFF lacks required tag ${tag}`);
    return [dflt];
  }
  const read = {
    1: (at) => dv.getUint8(at),
    3: (at) => dv.getUint16(at, le),
    4: (at) => dv.getUint32(at, le),
    6: (at) => dv.getInt8(at),
    8: (at) => dv.getInt16(at, le),
    9: (at) => dv.getInt32(at, le),
    16: (at) => Number(dv.getBigUint64(at, le)),
    17: (at) => Number(dv.getBigInt64(at, le)),
  }[entry.type];
  if (!read || entry.count === 0) throw new GamutError(`TIFF tag ${tag} is not a list of integers`);
  const size = TYPE_SIZES[entry.type];
  const length = all ? entry.count : Math.min(entry.count, 16);
  return Array.from({ length }, (_, i) => read(entry.at + i * size));
}

/**
 * The first IFD's structure and carrier checks, the blob tag; no pixel decoded.
 * @param {Uint8Array} bytes
 * @param {number} maxPixels checked before the strip table is read
 */
export function probeTiff(bytes, maxPixels) {
  const ifd = firstIfd(bytes);
  const [width] = integers(ifd, WIDTH);
  const [height] = integers(ifd, LENGTH);
  if (!(width > 0 && height > 0)) throw new GamutError(`TIFF is empty (${width}x${height} pixels)`);
  checkPixels('TIFF', width, height, maxPixels);
  const [spp] = integers(ifd, SAMPLES, 1);
  const bits = integers(ifd, BITS, 1);
  const depths = ifd.entries.get(BITS)?.count ?? 1;
  if (!(spp >= 1 && spp <= 16) || (depths !== 1 && depths !== spp)) {
    throw new GamutError(`TIFF has ${spp} samples per pixel and ${depths} bit depths`);
  }
  const [planar] = integers(ifd, PLANAR, 1);
  if (planar !== 1 && planar !== 2) throw new GamutError(`TIFF planar configuration ${planar}`);
  const planes = planar === 2 ? spp : 1;
  const tiled = ifd.entries.has(TILE_OFFSETS) || ifd.entries.has(TILE_WIDTH);
  const layout = { width, height, spp, planes, tiled };
  if (tiled) {
    const [tw] = integers(ifd, TILE_WIDTH);
    const [th] = integers(ifd, TILE_LENGTH);
    if (!(tw > 0 && tw <= 65536 && th > 0 && th <= 65536) || tw % 16 || th % 16) {
      throw new GamutError(`TIFF tiles of ${tw}x${th} are invalid (multiples of 16)`);
    }
    // One tile's buffer never outgrows the image's (or 16 MiB): a 16x16 image cannot make
    // this reader allocate a 65536x65536 tile.
    if (tw * th * spp > Math.max(MAX_METADATA_BYTES, width * height * spp)) {
      const image = `${width}x${height}`;
      throw new GamutError(`TIFF tiles of ${tw}x${th} are larger than a ${image} image needs`);
    }
    Object.assign(layout, { tw, th, across: Math.ceil(width / tw) });
    layout.perPlane = layout.across * Math.ceil(height / th);
  } else {
    const [rows] = integers(ifd, ROWS_PER_STRIP, 2 ** 32 - 1);
    if (!(rows > 0)) throw new GamutError('TIFF has zero rows per strip');
    Object.assign(layout, { tw: width, th: Math.min(rows, height), across: 1 });
    layout.perPlane = Math.ceil(height / layout.th);
  }
  const needed = layout.perPlane * planes;
  const [offsetsTag, sizesTag] = tiled ? [TILE_OFFSETS, TILE_BYTES] : [STRIP_OFFSETS, STRIP_BYTES];
  for (const tag of [offsetsTag, sizesTag]) {
    const listed = ifd.entries.get(tag)?.count ?? 0; // counted before reading: it may be huge
    if (listed !== needed) {
      throw new GamutError(`TIFF lists ${listed} image data blocks where ${needed} are needed`);
    }
  }
  layout.offsets = integers(ifd, offsetsTag, undefined, true);
  layout.sizes = integers(ifd, sizesTag, undefined, true);
  for (let i = 0; i < needed; i++) {
    const [at, size] = [layout.offsets[i], layout.sizes[i]];
    if (!(at >= 0 && size >= 0 && at + size <= bytes.length)) {
      throw new GamutError('TIFF image data lies past the end of the file (truncated?)');
    }
  }
  checkCarrier(ifd, spp, bits, layout);
  const blob = ifd.entries.get(TIFF_BLOB_TAG);
  const raw = blob && (blob.type === UNDEFINED || blob.type === BYTE);
  return {
    width,
    height,
    channels: spp,
    layout,
    bytes,
    blob: raw ? bytes.slice(blob.at, blob.at + blob.count) : null,
    notes: blob && !raw ? [REWRITTEN_TAG] : [],
  };
}

/** Only 8-bit unsigned RGB(A) is a carrier, in a compression this reader decodes. */
function checkCarrier(ifd, spp, bits, layout) {
  const [photometric] = integers(ifd, PHOTOMETRIC, -1);
  if (photometric !== 2) {
    const found = PHOTOMETRIC_NAMES[photometric] ?? `photometric ${photometric}`;
    throw new GamutError(`TIFF carrier must be RGB or RGBA, not ${found}`);
  }
  if (bits.some((b) => b !== 8) || integers(ifd, SAMPLE_FORMAT, 1).some((f) => f !== 1)) {
    throw new GamutError(`${bits[0]}-bit TIFF is not an sRGB carrier`);
  }
  if (spp !== 3 && spp !== 4) {
    throw new GamutError(`TIFF carrier must have 3 or 4 samples, not ${spp}`);
  }
  if (spp === 4 && integers(ifd, EXTRA_SAMPLES, 0)[0] === 1) {
    throw new GamutError('TIFF carrier has premultiplied alpha; save it with straight alpha');
  }
  const [compression] = integers(ifd, COMPRESSION, 1);
  if (!COMPRESSIONS[compression]) {
    throw new GamutError(
      `TIFF compression ${compression} is not supported here (none, LZW, deflate, PackBits are)`,
    );
  }
  const [predictor] = integers(ifd, PREDICTOR, 1);
  if (predictor !== 1 && predictor !== 2) {
    throw new GamutError(`TIFF predictor ${predictor} is not supported for 8-bit samples`);
  }
  if (integers(ifd, FILL_ORDER, 1)[0] !== 1) {
    throw new GamutError('TIFF with bit fill order 2 is not supported here');
  }
  Object.assign(layout, { compression, predictor });
}

/** One strip or tile, decompressed to at least `need` and at most `limit` bytes. */
async function chunkBytes(raw, compression, need, limit, what) {
  let data;
  // Uncompressed: a copy, as the predictor writes into it.
  if (compression === 1) data = raw.slice(0, limit);
  else if (compression === 5) data = lzwDecode(raw, limit, what);
  else if (compression === 32773) data = packBitsDecode(raw, limit);
  else data = (await inflateBounded([raw], limit, what)).data;
  if (data.length < need) {
    throw new GamutError(`${what} decodes to ${data.length} of ${need} bytes (truncated?)`);
  }
  return data;
}

/**
 * The pixels, H*W*samples interleaved.
 * @param {ReturnType<typeof probeTiff>} head
 * @returns {Promise<Uint8Array>}
 */
export async function decodeTiff({ width, height, channels, layout, bytes }) {
  const { tiled, tw, th, across, perPlane, planes, compression, predictor } = layout;
  const s = planes > 1 ? 1 : channels; // samples per pixel in one strip or tile
  const stride = tw * s;
  const out = new Uint8Array(width * height * channels);
  const one = async (i) => {
    const [plane, k] = [Math.floor(i / perPlane), i % perPlane];
    const [x0, y0] = [(k % across) * tw, Math.floor(k / across) * th];
    const rows = Math.min(th, height - y0);
    const cols = Math.min(tw, width - x0);
    // A tile is always whole; the last strip may stop at the image's last row.
    const need = (tiled ? th : rows) * stride;
    const what = `TIFF ${tiled ? 'tile' : 'strip'} ${i}`;
    const raw = bytes.subarray(layout.offsets[i], layout.offsets[i] + layout.sizes[i]);
    const data = await chunkBytes(raw, compression, need, th * stride, what);
    if (predictor === 2) {
      // Horizontal differencing: each sample is stored minus its left neighbour's.
      for (let r = 0; r < need / stride; r++) {
        for (let j = r * stride + s; j < (r + 1) * stride; j++) data[j] = data[j] + data[j - s];
      }
    }
    for (let r = 0; r < rows; r++) {
      const from = r * stride;
      const to = ((y0 + r) * width + x0) * channels;
      if (planes === 1) out.set(data.subarray(from, from + cols * s), to);
      else for (let c = 0; c < cols; c++) out[to + c * channels + plane] = data[from + c];
    }
  };
  // A few strips in flight at once: each inflater stream costs a fraction of a millisecond to
  // set up, which dominates for files with a strip per row.
  const count = perPlane * planes;
  let [next, failed] = [0, false];
  const lane = async () => {
    while (next < count && !failed) {
      try {
        await one(next++);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, count) }, lane));
  return out;
}
