// The checks of docs/blob-format.md §4.2 on a carrier (blob, size, digest), with the search for
// a carrier transcoded or turned since encoding (§4.3, §4.4): what restore.js and inspect share.

import { GamutError, readBlob } from './blob.js';
import { readCarrier } from './carrier.js';
import { findOrientation } from './orientation.js';

export const NO_MODEL =
  'no gamut-onnx model in this file: decoding as plain sRGB (clip-and-expand)';
export const EDITED = 'pixels changed after encoding (edited?): restore quality is not guaranteed';
export const WEAK_JPEG_DIGEST =
  "this model (blob format 1) cannot tell whether the JPEG's APP0/APP14 segments were changed " +
  '(they alter the decoded colours): re-encode to get the full check';

/**
 * @callback Sha256
 * @param {Uint8Array[]} parts
 * @returns {Promise<Uint8Array>|Uint8Array}
 */

const equalBytes = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * §4.2 item 4: a blob fitted for another size is an error, whatever the digest says; `turned`
 * also accepts the size transposed (a carrier turned by 90 degrees, §4.4).
 */
export function checkFittedSize(blob, width, height, turned = false) {
  const same = blob.imageWidth === width && blob.imageHeight === height;
  const swapped = turned && blob.imageWidth === height && blob.imageHeight === width;
  if (!same && !swapped) {
    throw new GamutError(
      `model was fitted for a ${blob.imageWidth}x${blob.imageHeight} image, ` +
        `but the pixels are ${width}x${height} (resized after encoding?)`,
    );
  }
}

/**
 * Read carrier, blob and digest check (§4.2 items 1-3 and 5, and item 4 with `fitted`). The blob
 * is checked from the carrier's header, before its pixels are decoded, so a broken or
 * mismatched blob costs no decoding.
 * @param {Uint8Array} bytes
 * @param {Sha256} sha256
 * @param {import('./blob.js').Inflate} [inflate] for the blob's source ICC record (§3.1)
 * @param {{maxPixels?: number, fitted?: boolean, checked?: Function, decoded?: Function}}
 *   [options] maxPixels: the size limit (default 250 MP); fitted: also refuse a blob fitted for
 *   another size (item 4); checked: called with the header and blob once they pass, before the
 *   pixels are decoded; decoded: called with the carrier and blob once the pixels are, before
 *   their digest
 */
export async function openCarrier(bytes, sha256, inflate, options = {}) {
  const { maxPixels, fitted = false, checked, decoded } = options;
  let blob = null;
  const check = (header) => {
    if (header.blob) {
      blob = readBlob(header.blob, { inflate }); // item 3
      if (fitted) checkFittedSize(blob, header.width, header.height, true);
    }
    checked?.(header, blob);
  };
  const carrier = await readCarrier(bytes, { maxPixels, check }); // item 1: several gmLP chunks
  decoded?.(carrier, blob);
  if (!blob) {
    const warnings = [...carrier.notes, NO_MODEL];
    return { carrier, blob, digestOk: null, warnings, orientation: 1 };
  }
  blob.sourceIcc = await blob.sourceIcc; // an asynchronous inflater (the page's) ends here
  // The digest of the blob's version: version 1 left APP0/APP14 out of the JPEG one.
  const parts = blob.formatVersion >= 2 ? carrier.digestParts : carrier.legacyDigestParts;
  const plainOk = equalBytes(await sha256(parts), blob.pixelDigest);
  // Transcoded or turned since encoding: searched only when the plain check fails (§4.4).
  const orientation = await findOrientation(carrier, blob, plainOk, sha256, maxPixels);
  const digestOk = orientation !== null;
  const warnings = [...carrier.notes];
  if (!digestOk) {
    const { width, height } = carrier;
    if (fitted && (blob.imageWidth !== width || blob.imageHeight !== height)) {
      throw new GamutError(
        `model was fitted for a ${blob.imageWidth}x${blob.imageHeight} image, but the ` +
          `pixels are ${width}x${height}: turned, but not losslessly (jpegtran without ` +
          '-perfect?), or edited',
      );
    }
    warnings.push(EDITED);
  }
  if (carrier.format === 'jpeg' && blob.formatVersion < 2) warnings.push(WEAK_JPEG_DIGEST);
  return { carrier, blob, digestOk, warnings, orientation: orientation ?? 1 };
}
