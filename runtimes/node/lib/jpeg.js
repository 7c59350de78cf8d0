// JPEG carriers (docs/blob-format.md §7): the marker segments up to the first scan are read by
// hand (the frame header's size and kind before any decoding, the APP9 blob chunks, the bytes of
// the pixel digest, §4.2); libjpeg-turbo in WebAssembly (@jsquash/jpeg) decodes the pixels, the
// same decoder as the reference's, so they are bit-identical. In Node its WebAssembly module must
// be handed over first (index.js calls configureJpegDecoder), as Node's fetch cannot read files.

import decodeJpegImage, { init as initJpegImage } from '@jsquash/jpeg/decode.js';

import { GamutError } from './blob.js';
import { concat } from './inflate.js';
import { few, MAP_IGNORED } from './limits.js';

const JPEG_BLOB_ID = 'GAMUT-ONNX\0';
const JPEG_MAP_ID = 'GAMUT-RESMAP\0'; // the optional residual map (§9)
const ICC_ID = 'ICC_PROFILE\0';

const SOS = 0xda;
const EOI = 0xd9;
const isStandalone = (m) => m === 0x01 || (m >= 0xd0 && m <= 0xd8); // TEM, RSTn, SOI
const isSof = (m) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
const isApp = (m) => m >= 0xe0 && m <= 0xef;
// APP0 (JFIF: YCbCr) and APP14 (Adobe: its transform flag) change how decoders colour the pixels.
const DECODE_AFFECTING_APPS = [0xe0, 0xee];

/** Neither runtime decodes arithmetic coding: refused from the frame header, in both alike. */
export const ARITHMETIC =
  'arithmetic-coded JPEG is not supported: transcode it with jpegtran -optimize';
const isArithmeticSof = (m) => [0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf].includes(m);

/** Marker segments from SOI up to and including the first SOS header. */
export function jpegSegments(bytes) {
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
    if (marker === 0 || end < pos + 2) {
      const hex = marker.toString(16).padStart(2, '0');
      throw new GamutError(`JPEG is corrupt (bad marker 0x${hex} at byte ${start})`);
    }
    if (end > bytes.length) throw new GamutError('JPEG is truncated');
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

/** Whether an APPn payload starts with the identifier `id`. */
function hasId(payload, id) {
  const head = payload.subarray(0, id.length);
  return payload.length >= id.length && String.fromCharCode(...head) === id;
}

/** Reassemble APPn chunks by sequence number; refuse gaps, duplicates and mixed counts. */
function joinChunks(chunks, what) {
  if (!chunks.length) return null;
  const counts = [...new Set(chunks.map((c) => c.count))].sort((a, b) => a - b);
  if (counts.length > 1) {
    throw new GamutError(`JPEG ${what} chunks disagree on their count ([${counts.join(', ')}])`);
  }
  const count = counts[0];
  const seqs = chunks.map((c) => c.seq).sort((a, b) => a - b);
  const repeated = [...new Set(seqs.filter((s, i) => seqs[i - 1] === s))];
  if (repeated.length) {
    throw new GamutError(`JPEG ${what} has duplicate chunks (sequence numbers ${few(repeated)})`);
  }
  const missing = [];
  for (let seq = 1; seq <= count; seq++) if (!seqs.includes(seq)) missing.push(seq);
  if (missing.length) {
    throw new GamutError(`JPEG ${what} is missing chunks ${few(missing)} of ${count}`);
  }
  if (seqs.length !== count) {
    throw new GamutError(`JPEG ${what} has chunk numbers ${few(seqs)}, expected 1 to ${count}`);
  }
  const parts = [...chunks].sort((a, b) => a.seq - b.seq).map((c) => c.data);
  return parts.length === 1 ? parts[0].slice() : concat(parts); // a copy, never a view
}

/**
 * The blob's or the residual map's chunks joined, or why they cannot be: damage to them loses
 * the model or the map (§9), not the photo; the decoder decides what that means.
 */
function joinLenient(chunks, id, what) {
  if (chunks.includes(null)) {
    return { payload: null, damage: `JPEG segment ${id.slice(0, -1)} is too short` };
  }
  try {
    return { payload: joinChunks(chunks, what), damage: null };
  } catch (err) {
    if (!(err instanceof GamutError)) throw err;
    return { payload: null, damage: err.message };
  }
}

/**
 * The segments before the scan: frame size and kind, the blob, the digest parts; no pixel
 * decoded.
 * @param {Uint8Array} bytes
 */
export function probeJpeg(bytes) {
  const segments = jpegSegments(bytes);
  const sof = segments.find((s) => isSof(s.marker));
  if (sof && isArithmeticSof(sof.marker)) throw new GamutError(ARITHMETIC);
  if (!sof || sof.payload.length < 6)
    throw new GamutError('JPEG has no frame header (SOF) before its scan');
  const p = sof.payload;
  const [precision, components] = [p[0], p[5]];
  const [height, width] = [(p[1] << 8) | p[2], (p[3] << 8) | p[4]];
  if (components === 1)
    throw new GamutError('grayscale JPEG is not a carrier: it has no colour to restore');
  if (components === 4) throw new GamutError('CMYK JPEG is not a carrier: save it as RGB');
  if (components !== 3 || precision !== 8) {
    throw new GamutError(`unsupported JPEG (${components} components, ${precision}-bit)`);
  }
  // Height 0 would mean "given by a DNL marker later", which carriers never use.
  if (width === 0 || height === 0) {
    throw new GamutError(`JPEG frame header says ${width}x${height} pixels`);
  }
  const chunks = { [JPEG_BLOB_ID]: [], [ICC_ID]: [], [JPEG_MAP_ID]: [] };
  for (const s of segments) {
    const ids = { 0xe9: [JPEG_BLOB_ID, JPEG_MAP_ID], 0xe2: [ICC_ID] }[s.marker] ?? [];
    const p = s.payload;
    const id = ids.find((candidate) => hasId(p, candidate));
    if (!id) continue;
    if (p.length < id.length + 2) {
      if (id !== ICC_ID) {
        chunks[id].push(null); // the blob's or the map's damage is theirs alone
        continue;
      }
      throw new GamutError(`JPEG segment ${id.slice(0, -1)} is too short`);
    }
    const [seq, count] = [p[id.length], p[id.length + 1]];
    chunks[id].push({ seq, count, data: p.subarray(id.length + 2) });
  }
  // The ICC profile is not used here; its chunks are checked as the reference reader does.
  joinChunks(chunks[ICC_ID], 'ICC profile (APP2)');
  const joined = joinLenient(chunks[JPEG_BLOB_ID], JPEG_BLOB_ID, 'blob (APP9 GAMUT-ONNX)');
  const { payload: blob, damage: modelDamage } = joined;
  const { payload: map, damage } = joinLenient(
    chunks[JPEG_MAP_ID],
    JPEG_MAP_ID,
    'residual map (APP9 GAMUT-RESMAP)',
  );
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
  return {
    width,
    height,
    channels: 3,
    bytes,
    blob,
    modelDamage,
    notes: damage ? [`${MAP_IGNORED}: ${damage}`] : [],
    residualMap: map,
    digestParts: digest(DECODE_AFFECTING_APPS),
    legacyDigestParts: digest([]),
  };
}

let decoderArgs = []; // what `init` is called with: none (the browser fetches the .wasm)

/**
 * The decoder's WebAssembly module and Emscripten options (e.g. print, printErr).
 * @param {WebAssembly.Module} module
 * @param {object} options
 */
export function configureJpegDecoder(module, options) {
  decoderArgs = [module, options];
  return initJpegImage(...decoderArgs);
}

/**
 * The pixels, H*W*3 RGB: libjpeg-turbo's.
 * @param {ReturnType<typeof probeJpeg>} head
 * @returns {Promise<Uint8Array>}
 */
export async function decodeJpeg({ bytes, width, height }) {
  let image;
  try {
    image = await decodeJpegImage(bytes.slice()); // the copy keeps the caller's intact
  } catch (err) {
    // libjpeg's errors end in exit(1), which leaves the instance's memory unusable (later
    // decodes hang or fault): the next decode gets a fresh instance.
    initJpegImage(...decoderArgs);
    throw err;
  }
  if (image.width !== width || image.height !== height) {
    throw new GamutError(
      `JPEG decodes to ${image.width}x${image.height}, not the ${width}x${height} its header says`,
    );
  }
  const rgba = image.data; // ImageData: alpha is always 255
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgb[i] = rgba[j];
    rgb[i + 1] = rgba[j + 1];
    rgb[i + 2] = rgba[j + 2];
  }
  return rgb;
}
