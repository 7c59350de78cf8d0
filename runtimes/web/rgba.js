// 8-bit RGB (H*W*3) and an alpha plane as the RGBA of an ImageData, in one pass of 32-bit
// writes: the sRGB canvas (draw.js) and the restored bands (worker.js, from output.onnx's codes);
// and output.onnx's float values as the half-float RGBA of a float16 canvas (rgbaHalf).

const MAGENTA = 0xff00ff; // R 255, G 0, B 255 as the low bytes of a little-endian word
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * @param {Uint8Array|Uint16Array} codes H*W*3 values 0 ... 255
 * @param {Uint8Array|null} alpha H*W straight alpha, or null (opaque)
 * @param {Uint8Array|null} highlight H*W, pixels to paint magenta where 1
 * @returns {Uint8ClampedArray} H*W*4
 */
export function rgba(codes, alpha, highlight) {
  const count = codes.length / 3;
  const out = new Uint8ClampedArray(count * 4);
  if (!LITTLE_ENDIAN) {
    for (let i = 0; i < count; i++) {
      const magenta = highlight?.[i];
      out[4 * i] = magenta ? 255 : codes[3 * i];
      out[4 * i + 1] = magenta ? 0 : codes[3 * i + 1];
      out[4 * i + 2] = magenta ? 255 : codes[3 * i + 2];
      out[4 * i + 3] = alpha ? alpha[i] : 255;
    }
    return out;
  }
  const words = new Uint32Array(out.buffer);
  for (let i = 0, j = 0; i < count; i++, j += 3) {
    words[i] = codes[j] | (codes[j + 1] << 8) | (codes[j + 2] << 16);
  }
  if (highlight) {
    for (let i = 0; i < count; i++) if (highlight[i]) words[i] = MAGENTA;
  }
  if (alpha) for (let i = 0; i < count; i++) words[i] |= alpha[i] << 24;
  else for (let i = 0; i < count; i++) words[i] |= 0xff000000;
  return out;
}

/**
 * Encoded values in [0, 1] (output.onnx's `encoded`, H*W*3) and an alpha plane as the RGBA of a
 * half-float ImageData ('rgba-float16'): a canvas of colorType 'float16' keeps them to 1/2048.
 * @param {Float32Array} encoded
 * @param {Uint8Array|null} alpha H*W straight alpha, or null (opaque)
 * @returns {Float16Array} H*W*4
 */
export function rgbaHalf(encoded, alpha) {
  const count = encoded.length / 3;
  const out = new Float16Array(count * 4);
  for (let i = 0, j = 0; i < count; i++, j += 3) {
    out[4 * i] = encoded[j];
    out[4 * i + 1] = encoded[j + 1];
    out[4 * i + 2] = encoded[j + 2];
    out[4 * i + 3] = alpha ? alpha[i] / 255 : 1;
  }
  return out;
}
