// Carrier containers (docs/blob-format.md §7): find the blob, decode the 8-bit pixels and collect
// what the pixel digest (§4.2) is computed over. Shared by Node and the browser page.
//
// Pixel decoders (npm), chosen because each runs unchanged in Node and in a browser:
// - fast-png: pure-ESM PNG decoder (filters, Adam7) on fflate. pngjs is built on Node streams
//   and zlib, so the page would need a bundler and polyfills for it.
// - utif2 (UTIF.js by Photopea): TIFF decoder covering deflate/LZW/PackBits and predictors; the
//   browser loads it as a classic script (runtimes/web/utif-shim.js).
// - @jsquash/jpeg: libjpeg-turbo's decoder (MozJPEG build) in WebAssembly. Same IDCT and colour
//   conversion as the reference decoder (libjpeg-turbo via imagecodecs), so decoded pixels are
//   bit-identical; JS decoders such as jpeg-js round differently. In Node the WebAssembly module
//   must be handed to `init` first (index.js does it), as Node's fetch cannot read files.
// The chunks, tags and marker segments that hold the blob are read here, by hand.

import { decode as decodePng } from 'fast-png';
import UTIF from 'utif2';
import decodeJpeg from '@jsquash/jpeg/decode.js';

import { GamutError } from './blob.js';
import { crc32 } from './crc32.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const TIFF_MAGICS = ['49492a00', '4d4d002a', '49492b00', '4d4d002b'];
export const TIFF_BLOB_TAG = 65117;
const JPEG_BLOB_ID = 'GAMUT-ONNX\0';

/**
 * @typedef {object} Carrier
 * @property {'png'|'tiff'|'jpeg'} format
 * @property {number} width
 * @property {number} height
 * @property {Uint8Array} rgb H*W*3 decoded 8-bit sRGB, row-major, interleaved
 * @property {Uint8Array|null} alpha H*W straight alpha, or null
 * @property {Uint8Array|null} blob the raw weight blob, or null when the file has none
 * @property {Uint8Array[]} digestParts the bytes the pixel digest hashes, in order (§4.2)
 * @property {Uint8Array[]} legacyDigestParts the same for version-1 blobs (JPEG: without the
 *   APP0/APP14 segments; PNG, TIFF: digestParts)
 */

/** Container by magic bytes, never by file name (§7). */
export function detectFormat(bytes) {
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'jpeg';
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
  if (TIFF_MAGICS.includes(head)) return 'tiff';
  return null;
}

/**
 * Decode a carrier file.
 * @param {Uint8Array} bytes
 * @returns {Promise<Carrier>}
 */
export async function readCarrier(bytes) {
  const format = detectFormat(bytes);
  if (!format) throw new GamutError('not a PNG, TIFF or JPEG carrier');
  try {
    if (format === 'png') return readPng(bytes);
    if (format === 'tiff') return readTiff(bytes);
    return await readJpeg(bytes);
  } catch (err) {
    if (err instanceof GamutError) throw err;
    // The decoders throw assorted types and texts: keep one line of theirs.
    const detail = String(err?.message ?? err).split('\n')[0];
    throw new GamutError(
      `cannot read ${format.toUpperCase()}: file is truncated or corrupt (${detail})`,
    );
  }
}

/** Split interleaved RGB(A) samples into rgb and alpha planes. */
function splitAlpha(data, width, height, channels) {
  const count = width * height;
  if (data.length < count * channels) throw new GamutError('image data is truncated');
  if (channels === 3) return { rgb: data.subarray(0, count * 3), alpha: null };
  const rgb = new Uint8Array(count * 3);
  const alpha = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    rgb[3 * i] = data[4 * i];
    rgb[3 * i + 1] = data[4 * i + 1];
    rgb[3 * i + 2] = data[4 * i + 2];
    alpha[i] = data[4 * i + 3];
  }
  return { rgb, alpha };
}

// --- PNG -----------------------------------------------------------------------------------------

function readPng(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const blobs = [];
  let ihdr = null;
  let pos = 8;
  for (;;) {
    if (pos + 12 > bytes.length) throw new GamutError('PNG is truncated (no IEND chunk)');
    const length = dv.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const end = pos + 12 + length;
    if (end > bytes.length) throw new GamutError(`PNG is truncated (in chunk ${type})`);
    // Every chunk CRC is checked (§7): a damaged gmLP must not pass as "no blob".
    if (crc32(bytes.subarray(pos + 4, end - 4)) !== dv.getUint32(end - 4)) {
      throw new GamutError(`PNG chunk ${type} has a bad CRC (the file is corrupted)`);
    }
    const data = bytes.subarray(pos + 8, end - 4);
    if (!ihdr && type !== 'IHDR') throw new GamutError('PNG does not start with IHDR');
    if (type === 'IHDR') ihdr = data;
    if (type === 'gmLP') blobs.push(data);
    if (type === 'IEND') break;
    pos = end;
  }
  const bitDepth = ihdr[8];
  const colourType = ihdr[9];
  if (colourType === 0 || colourType === 4) {
    throw new GamutError('grayscale PNG is not a carrier: it has no colour to restore');
  }
  if (colourType === 3) throw new GamutError('palette PNG is not a carrier: save it as 8-bit RGB');
  if (bitDepth === 16) throw new GamutError('16-bit PNG is not an sRGB carrier');
  if (bitDepth !== 8 || (colourType !== 2 && colourType !== 6) || ihdr[12] > 1) {
    throw new GamutError(`unsupported PNG (colour type ${colourType}, ${bitDepth}-bit)`);
  }
  if (blobs.length > 1) {
    throw new GamutError(`PNG holds ${blobs.length} gmLP chunks; a carrier has at most one`);
  }
  const png = decodePng(bytes); // CRCs were checked above
  const { rgb, alpha } = splitAlpha(png.data, png.width, png.height, png.channels);
  return {
    format: 'png',
    width: png.width,
    height: png.height,
    rgb,
    alpha,
    blob: blobs.length ? blobs[0].slice() : null,
    digestParts: [rgb],
    legacyDigestParts: [rgb],
  };
}

// --- TIFF ----------------------------------------------------------------------------------------

function readTiff(bytes) {
  const [ifd] = UTIF.decode(bytes); // first IFD only (§7)
  if (!ifd) throw new GamutError('TIFF is truncated or corrupt (no IFD)');
  const tag = (code) => ifd[`t${code}`];
  // UTIF reads what it can of a damaged file without complaint: check the essentials ourselves.
  if (!tag(256) || !tag(257) || !(tag(273) ?? tag(324))) {
    throw new GamutError('TIFF is truncated or corrupt (no image in its first IFD)');
  }
  const offsets = tag(273) ?? tag(324); // strips or tiles
  const counts = tag(279) ?? tag(325) ?? [];
  if (offsets.some((at, i) => !(at + (counts[i] ?? 0) <= bytes.length))) {
    throw new GamutError('TIFF is truncated (image data beyond the end of the file)');
  }
  const samples = tag(277)?.[0] ?? 1;
  const bits = tag(258) ?? [1];
  if (tag(262)?.[0] !== 2) throw new GamutError('TIFF carrier must be RGB or RGBA');
  if (bits.some((b) => b !== 8) || (tag(339)?.[0] ?? 1) !== 1) {
    throw new GamutError(`${bits[0]}-bit TIFF is not an sRGB carrier`);
  }
  if (samples !== 3 && samples !== 4) {
    throw new GamutError(`TIFF carrier must have 3 or 4 samples, not ${samples}`);
  }
  if (samples === 4 && tag(338)?.[0] === 1) {
    throw new GamutError('TIFF carrier has premultiplied alpha; save it with straight alpha');
  }
  if ((tag(284)?.[0] ?? 1) !== 1) {
    throw new GamutError('TIFF carrier with separate colour planes is not supported here');
  }
  UTIF.decodeImage(bytes, ifd);
  const { width, height } = ifd;
  const { rgb, alpha } = splitAlpha(ifd.data, width, height, samples);
  const blob = tag(TIFF_BLOB_TAG);
  return {
    format: 'tiff',
    width,
    height,
    rgb,
    alpha,
    blob: blob ? Uint8Array.from(blob) : null,
    digestParts: [rgb],
    legacyDigestParts: [rgb],
  };
}

// --- JPEG ----------------------------------------------------------------------------------------

const SOS = 0xda;
const EOI = 0xd9;
const isStandalone = (m) => m === 0x01 || (m >= 0xd0 && m <= 0xd8); // TEM, RSTn, SOI
const isSof = (m) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
const isApp = (m) => m >= 0xe0 && m <= 0xef;
// APP0 (JFIF: YCbCr) and APP14 (Adobe: its transform flag) change how decoders colour the pixels.
const DECODE_AFFECTING_APPS = [0xe0, 0xee];

/** Marker segments from SOI up to and including the first SOS header. */
function jpegSegments(bytes) {
  const segments = [];
  let pos = 2;
  for (;;) {
    if (pos >= bytes.length) throw new GamutError('JPEG is truncated (no scan)');
    if (bytes[pos] !== 0xff) throw new GamutError(`JPEG is corrupt (no marker at byte ${pos})`);
    while (bytes[pos] === 0xff) pos++; // fill bytes
    const marker = bytes[pos];
    const start = pos - 1;
    pos++;
    if (isStandalone(marker)) {
      segments.push({ marker, start, payload: bytes.subarray(pos, pos), end: pos });
      continue;
    }
    if (marker === EOI || pos + 2 > bytes.length)
      throw new GamutError('JPEG is truncated (no scan)');
    const end = pos + ((bytes[pos] << 8) | bytes[pos + 1]);
    if (end > bytes.length || end < pos + 2) throw new GamutError('JPEG is truncated');
    segments.push({ marker, start, payload: bytes.subarray(pos + 2, end), end });
    if (marker === SOS) return segments;
    pos = end;
  }
}

/** Offset just past EOI, skipping entropy-coded data and any later table/scan segments. */
function jpegEnd(bytes, pos) {
  for (;;) {
    while (pos + 1 < bytes.length) {
      if (bytes[pos] === 0xff) {
        const next = bytes[pos + 1];
        if (next === 0xff)
          pos += 1; // fill byte
        else if (next === 0x00 || (next >= 0xd0 && next <= 0xd7))
          pos += 2; // stuffing, RSTn
        else break;
      } else pos++;
    }
    if (pos + 1 >= bytes.length) throw new GamutError('JPEG is truncated (no EOI)');
    if (bytes[pos + 1] === EOI) return pos + 2;
    if (pos + 4 > bytes.length) throw new GamutError('JPEG is truncated (no EOI)');
    pos += 2 + ((bytes[pos + 2] << 8) | bytes[pos + 3]); // DHT, DQT, SOS, ... between scans
  }
}

/** Reassemble APP9 chunks by sequence number; refuse gaps, duplicates and mixed counts. */
function joinChunks(chunks) {
  if (!chunks.length) return null;
  const count = chunks[0].count;
  if (chunks.some((c) => c.count !== count)) {
    throw new GamutError('JPEG blob (APP9 GAMUT-ONNX) chunks disagree on their count');
  }
  const bySeq = new Map();
  for (const c of chunks) {
    if (bySeq.has(c.seq))
      throw new GamutError(`JPEG blob (APP9 GAMUT-ONNX) has duplicate chunk ${c.seq}`);
    bySeq.set(c.seq, c.data);
  }
  const parts = [];
  for (let seq = 1; seq <= count; seq++) {
    if (!bySeq.has(seq))
      throw new GamutError(`JPEG blob (APP9 GAMUT-ONNX) is missing chunk ${seq} of ${count}`);
    parts.push(bySeq.get(seq));
  }
  if (bySeq.size !== count)
    throw new GamutError('JPEG blob (APP9 GAMUT-ONNX) has chunk numbers out of range');
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function readJpeg(bytes) {
  const segments = jpegSegments(bytes);
  const sof = segments.find((s) => isSof(s.marker));
  if (!sof || sof.payload.length < 6)
    throw new GamutError('JPEG has no frame header (SOF) before its scan');
  const precision = sof.payload[0];
  const components = sof.payload[5];
  if (components === 1)
    throw new GamutError('grayscale JPEG is not a carrier: it has no colour to restore');
  if (components === 4) throw new GamutError('CMYK JPEG is not a carrier: save it as RGB');
  if (components !== 3 || precision !== 8) {
    throw new GamutError(`unsupported JPEG (${components} components, ${precision}-bit)`);
  }
  const idLength = JPEG_BLOB_ID.length;
  const chunks = [];
  for (const s of segments) {
    const p = s.payload;
    if (s.marker !== 0xe9 || String.fromCharCode(...p.subarray(0, idLength)) !== JPEG_BLOB_ID)
      continue;
    if (p.length < idLength + 2) throw new GamutError('JPEG segment GAMUT-ONNX is too short');
    chunks.push({ seq: p[idLength], count: p[idLength + 1], data: p.subarray(idLength + 2) });
  }
  // Digest (§4.2): the segments before the scan except SOI, COM and APPn (version 2 keeps APP0
  // and APP14; version 1 kept no APPn), then SOS .. EOI.
  const sos = segments[segments.length - 1];
  const scan = bytes.subarray(sos.start, jpegEnd(bytes, sos.end));
  const digest = (keptApps) => [
    ...segments
      .slice(0, -1)
      .filter((s) => s.marker !== 0xd8 && s.marker !== 0xfe)
      .filter((s) => !isApp(s.marker) || keptApps.includes(s.marker))
      .map((s) => bytes.subarray(s.start, s.end)),
    scan,
  ];

  const image = await decodeJpeg(bytes.slice()); // RGBA ImageData; the copy keeps ours intact
  const { rgb } = splitAlpha(image.data, image.width, image.height, 4);
  return {
    format: 'jpeg',
    width: image.width,
    height: image.height,
    rgb,
    alpha: null,
    blob: joinChunks(chunks),
    digestParts: digest(DECODE_AFFECTING_APPS),
    legacyDigestParts: digest([]),
  };
}
