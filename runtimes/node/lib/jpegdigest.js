// The JPEG coefficient digest (docs/blob-format.md §4.3) and the orientation search on it (§4.4):
// what every decoder decodes — the quantised DCT coefficients, their quantisation tables, the
// frame and the colour-transform markers — so lossless transcodes (jpegtran -optimize,
// -progressive, -restart) and lossless rotations keep it, while any coefficient change breaks
// it. The reference is src/gamut_onnx/container/jpeg_coefficients.py.

import { GamutError } from './blob.js';
import { jpegSegments } from './jpeg.js';
import { decodeCoefficients, ZIGZAG } from './jpegcoef.js';
import { checkPixels, DEFAULT_MAX_PIXELS } from './limits.js';

const HUFFMAN_SOF = [0xc0, 0xc1, 0xc2]; // baseline, extended sequential, progressive
const startsWith = (payload, text) =>
  payload.length >= text.length && [...text].every((ch, i) => payload[i] === ch.charCodeAt(0));

/** Each orientation (Exif numbering) as steps applied to the fitted image (§4.4). */
export const ORIENTATION_STEPS = {
  1: '',
  2: 'h',
  3: 'hv',
  4: 'v',
  5: 't',
  6: 'th', // turned 90 degrees clockwise
  7: 'thv',
  8: 'tv', // turned 270 degrees clockwise
};

/** Frame, quantisation tables (as defined before the first scan) and colour-transform markers. */
export function readFrame(bytes) {
  const slots = [];
  let sof = null;
  let sofMarker = 0;
  let jfif = false;
  let adobe = 255;
  for (const { marker, payload } of jpegSegments(bytes)) {
    if (marker === 0xdb) readDqt(payload, slots);
    else if (marker === 0xe0 && startsWith(payload, 'JFIF\0')) jfif = true;
    else if (marker === 0xee && startsWith(payload, 'Adobe') && payload.length >= 12)
      adobe = payload[11];
    else if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      if (!HUFFMAN_SOF.includes(marker))
        throw new GamutError(`JPEG process SOF${marker - 0xc0} is not supported`);
      [sof, sofMarker] = [payload, marker];
    }
  }
  if (!sof || sof.length < 6 || sof.length < 6 + 3 * sof[5])
    throw new GamutError('JPEG frame header (SOF) is corrupt');
  const height = (sof[1] << 8) | sof[2];
  const width = (sof[3] << 8) | sof[4];
  const components = [];
  for (let i = 0; i < sof[5]; i++) {
    const [id, sampling, slot] = sof.subarray(6 + 3 * i, 9 + 3 * i);
    const [h, v] = [sampling >> 4, sampling & 15];
    if (!(h >= 1 && h <= 4 && v >= 1 && v <= 4) || !slots[slot]) {
      throw new GamutError(`JPEG component ${id} has bad sampling or no quantisation table`);
    }
    components.push({ id, h, v, table: slots[slot] });
  }
  const frame = { precision: sof[0], width, height, components, jfif, adobe };
  frame.progressive = sofMarker === 0xc2;
  const hmax = Math.max(...components.map((c) => c.h));
  const vmax = Math.max(...components.map((c) => c.v));
  frame.mcusPerLine = Math.ceil(width / (8 * hmax));
  frame.mcusPerColumn = Math.ceil(height / (8 * vmax));
  for (const c of components) {
    c.cols = Math.ceil(Math.ceil((width * c.h) / hmax) / 8);
    c.rows = Math.ceil(Math.ceil((height * c.v) / vmax) / 8);
    c.paddedCols = frame.mcusPerLine * c.h;
    c.paddedRows = frame.mcusPerColumn * c.v;
  }
  return frame;
}

function readDqt(payload, slots) {
  for (let pos = 0; pos < payload.length; ) {
    const [precision, slot] = [payload[pos] >> 4, payload[pos] & 15];
    const size = precision ? 128 : 64;
    if (precision > 1 || slot > 3 || pos + 1 + size > payload.length) {
      throw new GamutError('JPEG quantisation table (DQT) is corrupt');
    }
    const table = new Uint16Array(64);
    for (let k = 0; k < 64; k++) {
      const at = pos + 1 + (precision ? 2 * k : k);
      table[ZIGZAG[k]] = precision ? (payload[at] << 8) | payload[at + 1] : payload[at];
    }
    slots[slot] = table;
    pos += 1 + size;
  }
}

/**
 * Each component's coefficients, dense: {rows, cols, data: Int16Array rows*cols*64}.
 * @param {Uint8Array} bytes
 * @param {number} [maxPixels] the pixel limit the frame's size is checked against first
 */
export function readCoefficients(bytes, maxPixels = DEFAULT_MAX_PIXELS) {
  const frame = readFrame(bytes);
  if (frame.components.length !== 3) throw new GamutError('JPEG carrier needs 3 components');
  checkPixels('JPEG', frame.width, frame.height, maxPixels);
  decodeCoefficients(bytes, frame);
  const planes = frame.components.map((c) => {
    if (c.cols === c.paddedCols && c.rows === c.paddedRows) {
      return { rows: c.rows, cols: c.cols, data: c.data };
    }
    const data = new Int16Array(c.rows * c.cols * 64);
    for (let r = 0; r < c.rows; r++) {
      const from = r * c.paddedCols * 64;
      data.set(c.data.subarray(from, from + c.cols * 64), r * c.cols * 64);
    }
    return { rows: c.rows, cols: c.cols, data };
  });
  for (const c of frame.components) delete c.data;
  return { frame, planes };
}

/** One step back: transpose (blocks and coefficients) or mirror (blocks, odd frequencies). */
function stepBack(frame, planes, step) {
  if (step === 't') {
    frame = {
      ...frame,
      width: frame.height,
      height: frame.width,
      components: frame.components.map((c) => ({
        ...c,
        h: c.v,
        v: c.h,
        table: transpose64(c.table),
      })),
    };
  }
  planes = planes.map(({ rows, cols, data }) => {
    const [outRows, outCols] = step === 't' ? [cols, rows] : [rows, cols];
    const out = new Int16Array(data.length);
    for (let r = 0; r < outRows; r++) {
      for (let c = 0; c < outCols; c++) {
        const o = (r * outCols + c) * 64;
        if (step === 't') {
          const i = (c * cols + r) * 64;
          for (let k = 0; k < 64; k++) out[o + k] = data[i + ((k & 7) << 3) + (k >> 3)];
        } else if (step === 'h') {
          const i = (r * cols + cols - 1 - c) * 64;
          for (let k = 0; k < 64; k++) out[o + k] = k & 1 ? -data[i + k] : data[i + k];
        } else {
          const i = ((rows - 1 - r) * cols + c) * 64;
          for (let k = 0; k < 64; k++) out[o + k] = k & 8 ? -data[i + k] : data[i + k];
        }
      }
    }
    return { rows: outRows, cols: outCols, data: out };
  });
  return { frame, planes };
}

const transpose64 = (t) => Uint16Array.from({ length: 64 }, (_, k) => t[((k & 7) << 3) + (k >> 3)]);

/** Frame and coefficients of the image that `orientation` turned into these (§4.4). */
export function unturnBlocks({ frame, planes }, orientation) {
  for (const step of [...ORIENTATION_STEPS[orientation]].reverse()) {
    ({ frame, planes } = stepBack(frame, planes, step));
  }
  return { frame, planes };
}

const le16 = (typed) => {
  const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? bytes : swap16(bytes);
};
const swap16 = (bytes) => bytes.map((_, i) => bytes[i ^ 1]);

/** The byte sequence §4.3 hashes, as parts for a Sha256 callback. */
export function digestParts({ frame, planes }) {
  const { precision, width, height, components, jfif, adobe } = frame;
  const head = Uint8Array.of(
    precision,
    width & 255,
    width >> 8,
    height & 255,
    height >> 8,
    components.length,
    jfif ? 1 : 0,
    adobe,
  );
  const parts = [head];
  for (const c of components) parts.push(Uint8Array.of(c.id, c.h, c.v), le16(c.table));
  for (const p of planes) parts.push(le16(p.data));
  return parts;
}
