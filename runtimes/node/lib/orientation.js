// Which way a carrier was turned since encoding (docs/blob-format.md §4.4), as the reference's
// src/gamut_onnx/runtime/orientation.py: a lossless rotation or mirroring keeps every pixel, so
// when the digest does not match as the file is, the other orientations are tried; the one that
// matches is turned back, restored as fitted, and the output turned like the file.

import { decodeJpeg } from './jpeg.js';
import { digestParts, ORIENTATION_STEPS, readCoefficients, unturnBlocks } from './jpegdigest.js';
import { baselineJpeg } from './jpegwrite.js';

const equalBytes = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

/** The orientations that give the fitted size: 1-4 keep it, 5-8 transpose it. */
export function candidates(blob, width, height) {
  const keep = blob.imageWidth === width && blob.imageHeight === height ? [1, 2, 3, 4] : [];
  const swap = blob.imageWidth === height && blob.imageHeight === width ? [5, 6, 7, 8] : [];
  return [...keep, ...swap];
}

/**
 * H*W*channels samples, one step turned: t transpose, h mirror left-right, v top-bottom.
 * @template {Uint8Array|Float32Array} T
 * @param {{data: T, width: number, height: number}} image
 * @returns {{data: T, width: number, height: number}}
 */
function step({ data, width, height }, which, channels) {
  const out = new /** @type {any} */ (data.constructor)(data.length);
  const [ow, oh] = which === 't' ? [height, width] : [width, height];
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let sx = x;
      let sy = y;
      if (which === 't') [sx, sy] = [y, x];
      else if (which === 'h') sx = width - 1 - x;
      else sy = height - 1 - y;
      const from = (sy * width + sx) * channels;
      const to = (y * ow + x) * channels;
      for (let c = 0; c < channels; c++) out[to + c] = data[from + c];
    }
  }
  return { data: out, width: ow, height: oh };
}

/** The fitted image shown as a file of this orientation shows it. */
export function turn(image, orientation, channels) {
  for (const s of ORIENTATION_STEPS[orientation]) image = step(image, s, channels);
  return image;
}

/** The inverse of `turn`: a file's samples turned back to the fitted orientation. */
export function unturn(image, orientation, channels) {
  for (const s of [...ORIENTATION_STEPS[orientation]].reverse()) image = step(image, s, channels);
  return image;
}

/**
 * The orientation under which the carrier matches the blob, or null; `plainOk` is the digest
 * check as the file is (the cheap path: no search when it passes at the fitted size). JPEG
 * carriers are searched on their coefficients, with blobs that record the coefficient digest.
 * @param {import('./carrier.js').Carrier} carrier
 * @param {import('./blob.js').Blob} blob
 * @param {boolean} plainOk
 * @param {(parts: Uint8Array[]) => Promise<Uint8Array>|Uint8Array} sha256
 * @param {number} [maxPixels]
 */
export async function findOrientation(carrier, blob, plainOk, sha256, maxPixels) {
  const found = candidates(blob, carrier.width, carrier.height);
  if (plainOk && found.includes(1)) return 1;
  if (carrier.jpegBytes) {
    if (!blob.jpegDigest) return null;
    const coefficients = readCoefficients(carrier.jpegBytes, maxPixels);
    for (const orientation of found) {
      const parts = digestParts(unturnBlocks(coefficients, orientation));
      if (equalBytes(await sha256(parts), blob.jpegDigest)) return orientation;
    }
    return null;
  }
  const image = { data: carrier.rgb, width: carrier.width, height: carrier.height };
  for (const orientation of found) {
    if (orientation === 1) continue;
    const back = unturn(image, orientation, 3);
    if (equalBytes(await sha256([back.data]), blob.pixelDigest)) return orientation;
  }
  return null;
}

/**
 * A turned carrier's pixels in the orientation its model was fitted in. A JPEG's coefficients
 * are turned back and decoded (the pixels the untouched carrier gives: decoders round the IDCT
 * of turned blocks differently); lossless pixels are turned back.
 * @returns {Promise<{rgb: Uint8Array, width: number, height: number}>}
 */
export async function fittedPixels(carrier, orientation, maxPixels) {
  const { rgb, width, height, jpegBytes } = carrier;
  if (!jpegBytes) {
    const back = unturn({ data: rgb, width, height }, orientation, 3);
    return { rgb: back.data, width: back.width, height: back.height };
  }
  const fitted = unturnBlocks(readCoefficients(jpegBytes, maxPixels), orientation);
  const { width: w, height: h } = fitted.frame;
  const decoded = await decodeJpeg({ bytes: baselineJpeg(fitted), width: w, height: h });
  return { rgb: decoded, width: w, height: h };
}
