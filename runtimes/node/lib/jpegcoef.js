// The quantised DCT coefficients of a Huffman-coded JPEG (baseline, extended sequential,
// progressive; restart markers), for the coefficient digest (docs/blob-format.md §4.3): no IDCT,
// no colour. No well-kept JavaScript library exposes JPEG coefficients, so this is our own
// entropy decoder, after ITU-T T.81 Annex F and G (the refinement scans as libjpeg decodes them).
// Memory is the coefficients alone (2 bytes a sample), sized from the frame header, which the
// caller checks against the pixel limit first; every loop is bounded by the block counts.

import { GamutError } from './blob.js';

// ZIGZAG[k]: the natural (row-major) index of the k-th coefficient in coding order.
export const ZIGZAG = Int32Array.from([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
  13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
  52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]);
const MAX_SCANS = 1000; // progressive files have about 10; each scan costs a pass over the blocks

const corrupt = (why) => new GamutError(`JPEG scan data is corrupt (${why})`);

/** A Huffman table from its DHT counts and values: an 8-bit lookahead plus the slow path. */
function huffmanTable(counts, values) {
  const fast = new Uint16Array(256); // (length << 8) | value for codes of up to 8 bits
  const maxcode = new Int32Array(18).fill(-1);
  const valptr = new Int32Array(17);
  const mincode = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    valptr[len] = k;
    mincode[len] = code;
    for (let i = 0; i < counts[len - 1]; i++, k++, code++) {
      if (len <= 8) {
        const shift = 8 - len;
        for (let j = 0; j < 1 << shift; j++) fast[(code << shift) | j] = (len << 8) | values[k];
      }
    }
    if (counts[len - 1]) maxcode[len] = code - 1;
    if (code > 1 << len) throw corrupt('bad Huffman table');
    code <<= 1;
  }
  return { fast, maxcode, valptr, mincode, values };
}

/** Bits of one scan's entropy-coded data; zeros past its end (as libjpeg pads). */
class BitReader {
  constructor(bytes, pos) {
    this.bytes = bytes;
    this.pos = pos;
    this.acc = 0;
    this.n = 0;
    this.atMarker = false;
  }

  fill() {
    const b = this.bytes;
    while (this.n <= 16) {
      let byte = 0;
      if (!this.atMarker && this.pos < b.length) {
        byte = b[this.pos];
        if (byte === 0xff) {
          if (b[this.pos + 1] === 0) this.pos += 2;
          else {
            this.atMarker = true;
            byte = 0;
          }
        } else this.pos++;
      }
      this.acc = ((this.acc & ((1 << this.n) - 1)) << 8) | byte;
      this.n += 8;
    }
  }

  bits(count) {
    if (count === 0) return 0;
    if (this.n < count) this.fill();
    this.n -= count;
    return (this.acc >>> this.n) & ((1 << count) - 1);
  }

  bit() {
    return this.bits(1);
  }

  /** Extend a `size`-bit magnitude to its signed value (T.81 F.2.2.1). */
  signed(size) {
    if (size === 0) return 0;
    if (size > 16) throw corrupt('coefficient too large');
    const v = this.bits(size);
    return v < 1 << (size - 1) ? v - (1 << size) + 1 : v;
  }

  decode(table) {
    if (!table) throw corrupt('scan uses an undefined Huffman table');
    if (this.n < 16) this.fill();
    const entry = table.fast[(this.acc >>> (this.n - 8)) & 0xff];
    if (entry) {
      this.n -= entry >> 8;
      return entry & 0xff;
    }
    const code16 = (this.acc >>> (this.n - 16)) & 0xffff;
    for (let len = 9; len <= 16; len++) {
      const code = code16 >>> (16 - len);
      if (code <= table.maxcode[len]) {
        this.n -= len;
        return table.values[table.valptr[len] + code - table.mincode[len]];
      }
    }
    throw corrupt('bad Huffman code');
  }

  /** At a restart: drop the byte's leftover bits and step over the RSTn marker. */
  restart() {
    this.n = 0;
    this.acc = 0;
    const b = this.bytes;
    while (this.pos < b.length && b[this.pos] === 0xff && b[this.pos + 1] === 0xff) this.pos++;
    if (b[this.pos] === 0xff && b[this.pos + 1] >= 0xd0 && b[this.pos + 1] <= 0xd7) {
      this.pos += 2;
      this.atMarker = false;
      return;
    }
    throw corrupt('missing restart marker');
  }
}

/** Decode one block's share of a scan into `c` (Int16Array, natural order) at `o`. */
function blockDecoders(scan, reader) {
  const { ss, se, ah, al } = scan;
  const state = { eobrun: 0 };
  const sequential = (c, o, comp) => {
    const t = reader.decode(comp.dc);
    comp.pred += reader.signed(t);
    c[o] = comp.pred;
    for (let k = 1; k < 64; ) {
      const rs = reader.decode(comp.ac);
      const s = rs & 15;
      const r = rs >> 4;
      if (s === 0) {
        if (r !== 15) break;
        k += 16;
        continue;
      }
      k += r;
      if (k > 63) throw corrupt('coefficient index past 63');
      c[o + ZIGZAG[k]] = reader.signed(s);
      k++;
    }
  };
  const dcFirst = (c, o, comp) => {
    const t = reader.decode(comp.dc);
    comp.pred += reader.signed(t);
    c[o] = comp.pred * (1 << al);
  };
  const dcRefine = (c, o) => {
    if (reader.bit()) c[o] |= 1 << al;
  };
  const acFirst = (c, o, comp) => {
    if (state.eobrun > 0) {
      state.eobrun--;
      return;
    }
    for (let k = ss; k <= se; ) {
      const rs = reader.decode(comp.ac);
      const s = rs & 15;
      const r = rs >> 4;
      if (s === 0) {
        if (r < 15) {
          state.eobrun = (1 << r) - 1 + reader.bits(r);
          break;
        }
        k += 16;
        continue;
      }
      k += r;
      if (k > 63) throw corrupt('coefficient index past 63');
      c[o + ZIGZAG[k]] = reader.signed(s) * (1 << al);
      k++;
    }
  };
  const p1 = 1 << al;
  const m1 = -1 << al;
  const refineNonZero = (c, z) => {
    if (reader.bit() && (c[z] & p1) === 0) c[z] += c[z] >= 0 ? p1 : m1;
  };
  const acRefine = (c, o, comp) => {
    let k = ss;
    if (state.eobrun <= 0) {
      for (; k <= se; k++) {
        const rs = reader.decode(comp.ac);
        let r = rs >> 4;
        let s = rs & 15;
        if (s) {
          if (s !== 1) throw corrupt('bad refinement value');
          s = reader.bit() ? p1 : m1;
        } else if (r !== 15) {
          state.eobrun = (1 << r) + reader.bits(r);
          break;
        }
        do {
          const z = o + ZIGZAG[k];
          if (c[z] !== 0) refineNonZero(c, z);
          else if (--r < 0) break;
          k++;
        } while (k <= se);
        if (s) {
          if (k > se) throw corrupt('coefficient index past the scan');
          c[o + ZIGZAG[k]] = s;
        }
      }
    }
    if (state.eobrun > 0) {
      for (; k <= se; k++) {
        const z = o + ZIGZAG[k];
        if (c[z] !== 0) refineNonZero(c, z);
      }
      state.eobrun--;
    }
  };
  const resetEob = () => (state.eobrun = 0);
  if (!scan.progressive) return { decode: sequential, resetEob };
  if (ss === 0) return { decode: ah ? dcRefine : dcFirst, resetEob };
  return { decode: ah ? acRefine : acFirst, resetEob };
}

/** Decode one scan starting at `pos` (just past its SOS segment); returns where it ends. */
function decodeScan(bytes, pos, frame, scan, restartInterval) {
  const reader = new BitReader(bytes, pos);
  const { decode, resetEob } = blockDecoders(scan, reader);
  const comps = scan.components;
  const single = comps.length === 1;
  const units = single
    ? comps[0].rows * comps[0].cols
    : frame.mcusPerLine * frame.mcusPerColumn;
  for (const comp of comps) comp.pred = 0;
  for (let unit = 0; unit < units; unit++) {
    if (restartInterval && unit > 0 && unit % restartInterval === 0) {
      reader.restart();
      resetEob();
      for (const comp of comps) comp.pred = 0;
    }
    if (single) {
      const comp = comps[0];
      const row = Math.floor(unit / comp.cols);
      const col = unit % comp.cols;
      decode(comp.data, (row * comp.paddedCols + col) * 64, comp);
      continue;
    }
    const mcuRow = Math.floor(unit / frame.mcusPerLine);
    const mcuCol = unit % frame.mcusPerLine;
    for (const comp of comps) {
      for (let y = 0; y < comp.v; y++) {
        for (let x = 0; x < comp.h; x++) {
          const row = mcuRow * comp.v + y;
          const col = mcuCol * comp.h + x;
          decode(comp.data, (row * comp.paddedCols + col) * 64, comp);
        }
      }
    }
  }
  return reader.pos;
}

/** Offset of the next marker after entropy-coded data (past stuffing and RSTn). */
function nextMarker(bytes, pos) {
  for (; pos + 1 < bytes.length; pos++) {
    if (bytes[pos] !== 0xff) continue;
    const next = bytes[pos + 1];
    if (next !== 0 && next !== 0xff && !(next >= 0xd0 && next <= 0xd7)) return pos;
  }
  throw new GamutError('JPEG is truncated (no EOI)');
}

function readDht(payload, tables) {
  for (let pos = 0; pos < payload.length; ) {
    const cls = payload[pos] >> 4;
    const id = payload[pos] & 15;
    if (cls > 1 || id > 3 || pos + 17 > payload.length) throw corrupt('bad Huffman table');
    const counts = payload.subarray(pos + 1, pos + 17);
    const total = counts.reduce((a, b) => a + b, 0);
    if (total > 256 || pos + 17 + total > payload.length) throw corrupt('bad Huffman table');
    tables[cls][id] = huffmanTable(counts, payload.subarray(pos + 17, pos + 17 + total));
    pos += 17 + total;
  }
}

function readSos(payload, frame, progressive) {
  const count = payload[0];
  if (!(count >= 1 && count <= 4) || payload.length < 4 + 2 * count) throw corrupt('bad SOS');
  const components = [];
  for (let i = 0; i < count; i++) {
    const comp = frame.components.find((c) => c.id === payload[1 + 2 * i]);
    if (!comp || components.includes(comp)) throw corrupt('scan names an unknown component');
    comp.dcId = payload[2 + 2 * i] >> 4;
    comp.acId = payload[2 + 2 * i] & 15;
    components.push(comp);
  }
  const at = 1 + 2 * count;
  const [ss, se] = [payload[at], payload[at + 1]];
  const [ah, al] = [payload[at + 2] >> 4, payload[at + 2] & 15];
  const bad = progressive
    ? ss > se || se > 63 || (ss === 0 && se !== 0) || (ss > 0 && count !== 1) || al > 13
    : ss !== 0 || se !== 63;
  if (bad) throw corrupt('bad spectral selection');
  if (count > 1 && components.reduce((n, c) => n + c.h * c.v, 0) > 10) {
    throw corrupt('too many blocks in an MCU');
  }
  return { components, ss, se, ah, al, progressive };
}

/**
 * Decode every scan of a JPEG whose frame `frame` (lib/jpegdigest.js readFrame) describes;
 * fills each component's `data` (Int16Array, padded rows x padded cols x 64, natural order).
 * @param {Uint8Array} bytes
 * @param {object} frame
 */
export function decodeCoefficients(bytes, frame) {
  const tables = [[], []];
  let restartInterval = 0;
  let scans = 0;
  for (const comp of frame.components) {
    comp.data = new Int16Array(comp.paddedRows * comp.paddedCols * 64);
  }
  let pos = 2;
  for (;;) {
    if (pos + 2 > bytes.length || bytes[pos] !== 0xff) throw new GamutError('JPEG is truncated');
    while (bytes[pos + 1] === 0xff) pos++;
    const marker = bytes[pos + 1];
    if (marker === 0xd9) return frame; // EOI
    if (pos + 4 > bytes.length) throw new GamutError('JPEG is truncated');
    if (marker >= 0xd0 && marker <= 0xd7) {
      pos += 2; // a stray RSTn between scans
      continue;
    }
    const end = pos + 2 + ((bytes[pos + 2] << 8) | bytes[pos + 3]);
    if (end > bytes.length || end < pos + 4) throw new GamutError('JPEG is truncated');
    const payload = bytes.subarray(pos + 4, end);
    if (marker === 0xc4) readDht(payload, tables);
    else if (marker === 0xdd) {
      restartInterval = payload.length >= 2 ? (payload[0] << 8) | payload[1] : 0;
    }
    else if (marker === 0xda) {
      if (++scans > MAX_SCANS) throw corrupt(`more than ${MAX_SCANS} scans`);
      const scan = readSos(payload, frame, frame.progressive);
      for (const comp of scan.components) {
        comp.dc = tables[0][comp.dcId];
        comp.ac = tables[1][comp.acId];
      }
      const after = decodeScan(bytes, end, frame, scan, restartInterval);
      pos = nextMarker(bytes, after);
      continue;
    }
    pos = end;
  }
}
