// Restore steps 1-2 of docs/blob-format.md §5 in JavaScript: 8-bit sRGB -> clipped linear
// ProPhoto `p`. Used where no model runs (a file without a blob, §4.2 item 2) and by the page to
// see which pixels the MLP changed. Every float32 operation is rounded with Math.fround (§5.1).

const f32 = Math.fround;

function bitsToFloat(bits) {
  return new Float32Array(new Uint32Array(bits).buffer);
}

/** LIN[i]: the sRGB decoding curve, computed in float64 and rounded to float32 (step 1). */
export const LIN = new Float32Array(256);
for (let i = 0; i < 256; i++) {
  const v = i / 255;
  LIN[i] = v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

/**
 * Linear sRGB -> linear ProPhoto, row-major, by the blob's `carrier_transform`, from the spec's
 * bit patterns (step 2): 2 = colour-science CAT02 (version-2 blobs), 1 = legacy (version 1).
 */
export const TO_PROPHOTO = {
  1: bitsToFloat([
    0x3f075ea0, 0x3eaaf38a, 0x3e0c9e6e, 0x3dc7e37a, 0x3f61048c, 0x3cbfe089, 0x3c864872,
    0x3dda5277, 0x3f60836e,
  ]),
  2: bitsToFloat([
    0x3f076104, 0x3eab0a0b, 0x3e0ca88b, 0x3dc7bd80, 0x3f6106a1, 0x3cbfad69, 0x3c860533,
    0x3dda57a7, 0x3f60935c,
  ]),
};
/** The transform of files without a model, as the reference decoder (gamut-onnx) uses. */
export const CURRENT_TRANSFORM = 2;

/**
 * Clipped linear ProPhoto for every pixel.
 * @param {Uint8Array} rgb H*W*3 bytes
 * @param {number} [transform] the blob's carrier_transform (1 or 2); default 2
 * @returns {Float32Array} H*W*3 values in [0, 1]
 */
export function clippedProPhoto(rgb, transform = CURRENT_TRANSFORM) {
  const M = TO_PROPHOTO[transform];
  if (!M) throw new RangeError(`unknown carrier transform ${transform}`);
  const out = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i += 3) {
    const r = LIN[rgb[i]];
    const g = LIN[rgb[i + 1]];
    const b = LIN[rgb[i + 2]];
    for (let k = 0; k < 3; k++) {
      let a = f32(r * M[3 * k]);
      a = f32(a + f32(g * M[3 * k + 1]));
      a = f32(a + f32(b * M[3 * k + 2]));
      out[i + k] = Math.min(Math.max(a, 0), 1);
    }
  }
  return out;
}
