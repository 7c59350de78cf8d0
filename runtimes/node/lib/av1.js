// What an AV1 bitstream says about its frames before a decoder sees it (AV1 specification,
// sections 5.3 and 5.5): the sequence header's coded size, bit depth, chroma layout and matrix,
// and how many frames follow. The twin of src/gamut_onnx/read/av1.py, same checks, same words.

import { GamutError } from './blob.js';

const OBU_SEQUENCE_HEADER = 1;
const OBU_FRAME_HEADER = 3;
const OBU_FRAME = 6;
const MAX_OBUS = 4096;

/** Big-endian bit reader over bytes, failing past the end. */
class Bits {
  constructor(data) {
    this.data = data;
    this.pos = 0;
  }

  f(n) {
    let value = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.pos >> 3;
      if (byte >= this.data.length) throw new GamutError('AV1 sequence header is cut short');
      value = value * 2 + ((this.data[byte] >> (7 - (this.pos & 7))) & 1);
      this.pos += 1;
    }
    return value;
  }

  uvlc() {
    let zeros = 0;
    while (!this.f(1)) {
      zeros += 1;
      if (zeros >= 32) throw new GamutError('AV1 sequence header has an over-long code');
    }
    return this.f(zeros) + 2 ** zeros - 1;
  }
}

function leb128(data, pos) {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    if (pos + i >= data.length) throw new GamutError('AV1 OBU size is cut short');
    const byte = data[pos + i];
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (!(byte & 0x80)) return [value, pos + i + 1];
  }
  throw new GamutError('AV1 OBU size is over-long');
}

/** Skip timing, decoder model and operating points (not a reduced still header). */
function operatingPoints(bits) {
  let decoderModel = false;
  let bufferDelayLength = 0;
  if (bits.f(1)) {
    bits.f(32);
    bits.f(32);
    if (bits.f(1)) bits.uvlc();
    decoderModel = Boolean(bits.f(1));
    if (decoderModel) {
      bufferDelayLength = bits.f(5) + 1;
      bits.f(32);
      bits.f(5);
      bits.f(5);
    }
  }
  const displayDelay = bits.f(1);
  const count = bits.f(5) + 1;
  for (let i = 0; i < count; i++) {
    bits.f(12);
    if (bits.f(5) > 7) bits.f(1);
    if (decoderModel && bits.f(1)) {
      bits.f(bufferDelayLength);
      bits.f(bufferDelayLength);
      bits.f(1);
    }
    if (displayDelay && bits.f(1)) bits.f(4);
  }
}

/** Skip the coding-tool flags between the frame size and the colour config. */
function tools(bits, reduced) {
  if (!reduced && bits.f(1)) {
    bits.f(4);
    bits.f(3);
  }
  bits.f(3);
  if (!reduced) {
    bits.f(4);
    const orderHint = bits.f(1);
    if (orderHint) bits.f(2);
    const screenContent = bits.f(1) ? 2 : bits.f(1);
    if (screenContent && !bits.f(1)) bits.f(1);
    if (orderHint) bits.f(3);
  }
  bits.f(3);
}

/**
 * Parse a sequence header OBU's payload (through its colour config).
 * @param {Uint8Array} payload
 */
export function sequenceHeader(payload) {
  const bits = new Bits(payload);
  const profile = bits.f(3);
  if (profile > 2) throw new GamutError(`AV1 sequence header has profile ${profile}`);
  bits.f(1);
  const reduced = Boolean(bits.f(1));
  if (reduced) bits.f(5);
  else operatingPoints(bits);
  const widthBits = bits.f(4) + 1;
  const heightBits = bits.f(4) + 1;
  const width = bits.f(widthBits) + 1;
  const height = bits.f(heightBits) + 1;
  tools(bits, reduced);
  const high = bits.f(1);
  let depth = high ? 10 : 8;
  if (profile === 2 && high) depth = bits.f(1) ? 12 : 10;
  const monochrome = profile === 1 ? false : Boolean(bits.f(1));
  let [primaries, transfer, matrix] = [2, 2, 2];
  if (bits.f(1)) [primaries, transfer, matrix] = [bits.f(8), bits.f(8), bits.f(8)];
  let fullRange;
  let subsampling;
  if (monochrome) {
    fullRange = Boolean(bits.f(1));
    subsampling = [1, 1];
  } else if (primaries === 1 && transfer === 13 && matrix === 0) {
    fullRange = true;
    subsampling = [0, 0];
  } else {
    fullRange = Boolean(bits.f(1));
    if (profile === 0) subsampling = [1, 1];
    else if (profile === 1) subsampling = [0, 0];
    else if (depth === 12) {
      const x = bits.f(1);
      subsampling = [x, x ? bits.f(1) : 0];
    } else subsampling = [1, 0];
  }
  return { profile, width, height, depth, monochrome, subsampling, matrix, fullRange };
}

/**
 * The sequence header and frame count of an AV1 OBU stream (an AVIF item's data). Every OBU
 * must carry its size and the sizes must add up to the data exactly.
 * @param {Uint8Array} data
 */
export function readStream(data) {
  let pos = 0;
  let header = null;
  let frames = 0;
  let count = 0;
  while (pos < data.length) {
    if (++count > MAX_OBUS) throw new GamutError(`AV1 data has more than ${MAX_OBUS} OBUs`);
    const first = data[pos];
    const kind = (first >> 3) & 15;
    const extension = (first >> 2) & 1;
    if (first & 0x80 || !((first >> 1) & 1)) {
      throw new GamutError('AV1 data has an OBU without a size (or a forbidden bit)');
    }
    const [size, start] = leb128(data, pos + 1 + extension);
    const end = start + size;
    if (end > data.length) throw new GamutError("AV1 data has an OBU that runs past the item's end");
    if (kind === OBU_SEQUENCE_HEADER) {
      if (header) throw new GamutError('AV1 data has a second sequence header');
      header = sequenceHeader(data.subarray(start, end));
    } else if (kind === OBU_FRAME || kind === OBU_FRAME_HEADER) frames += 1;
    pos = end;
  }
  if (!header) throw new GamutError('AV1 data has no sequence header');
  return { header, frames };
}
