// Open a carrier for restoring (docs/blob-format.md §4.2): read it, check its blob before any
// pixel is decoded, compare the pixel digest (searching the orientations of a carrier
// transcoded or turned since encoding, §4.3-4.4), and decide where the model comes from (the
// file, its sidecar, §10) and what a damaged one means (an error, or with `fallback` the plain
// expansion and one warning). Shared by Node, inspect and the browser page via lib/restore.js.

import { GamutError, readBlob } from './blob.js';
import { readCarrier } from './carrier.js';
import { findOrientation } from './orientation.js';
import { readSidecar } from './sidecar.js';

export const NO_MODEL =
  'no gamut-onnx model in this file: decoding as plain sRGB (clip-and-expand)';
export const MAP_MISSING = "the model's residual map is missing (removed?): restored without it";
export const EDITED = 'pixels changed after encoding (edited?): restore quality is not guaranteed';
export const WEAK_JPEG_DIGEST =
  "this model (blob format 1) cannot tell whether the JPEG's APP0/APP14 segments were changed " +
  '(they alter the decoded colours): re-encode to get the full check';
export const NOT_FINITE = 'restore produced non-finite values; refusing the output';
/**
 * How the one warning of a fallback decode starts: a damaged model is not a damaged photo, so
 * without strict the CLI writes the plain sRGB photo (as the Python CLI does).
 */
export const MODEL_IGNORED = 'damaged gamut-onnx model ignored';
/** The fallback's warning: what was wrong, and what was written instead. */
export const modelIgnored = (reason) =>
  `${MODEL_IGNORED} (${reason}): decoding as plain sRGB (clip-and-expand)`;

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

/** A sidecar's payloads in place of the header's, or its damage as the model's damage. */
function fromSidecar(sidecar) {
  try {
    return { ...readSidecar(sidecar), modelDamage: null };
  } catch (err) {
    if (!(err instanceof GamutError)) throw err;
    return { blob: null, residualMap: null, modelDamage: err.message };
  }
}

/** The header's own model can be used: readable, valid and fitted for this size. */
function usable(header, inflate) {
  if (!header.blob || header.modelDamage) return false;
  try {
    checkFittedSize(readBlob(header.blob, { inflate }), header.width, header.height, true);
    return true;
  } catch (err) {
    if (!(err instanceof GamutError)) throw err;
    return false;
  }
}

/**
 * Read carrier, blob and digest check (§4.2 items 1-3 and 5, and item 4 with `fitted`). The blob
 * is checked from the carrier's header, before its pixels are decoded, so a broken or
 * mismatched blob costs no decoding.
 * @param {Uint8Array} bytes
 * @param {Sha256} sha256
 * @param {import('./blob.js').Inflate} [inflate] for the blob's source ICC record (§3.1)
 * @param {{maxPixels?: number, fitted?: boolean, checked?: Function, decoded?: Function,
 *   fallback?: boolean, sidecar?: Uint8Array}} [options] maxPixels: the size limit (default
 *   250 MP); fitted: also refuse a blob fitted for another size (item 4); checked: called with
 *   the header and blob once they pass, before the pixels are decoded; decoded: called with the
 *   carrier and blob once the pixels are, before their digest; fallback: a damaged model (its
 *   container, the blob, its size) is no model plus one warning instead of an error; sidecar:
 *   the bytes of the carrier's sidecar file, whose model is used when the file has no usable one
 * @returns {Promise<{carrier: object, blob: object|null, digestOk: boolean|null,
 *   warnings: string[], model: 'embedded'|'sidecar'|'none'|'ignored', orientation: number,
 *   reason?: string}>} orientation: how the file shows the image the blob was fitted on (1: as
 *   it is, §4.4); reason: why an ignored model was ignored
 */
export async function openCarrier(bytes, sha256, inflate, options = {}) {
  const { maxPixels, fitted = false, checked, decoded, fallback = false, sidecar } = options;
  let blob = null;
  let source = null;
  let reason = null; // why a damaged model was ignored (with fallback)
  let fromSide = false;
  const check = (header) => {
    fromSide = !!sidecar && !usable(header, inflate);
    source = fromSide ? { ...header, ...fromSidecar(sidecar) } : header;
    try {
      if (source.modelDamage) throw new GamutError(source.modelDamage);
      if (source.blob) {
        blob = readBlob(source.blob, { inflate }); // item 3
        if (fitted) checkFittedSize(blob, header.width, header.height, true);
      }
    } catch (err) {
      if (!(err instanceof GamutError) || !fallback) throw err;
      [blob, reason] = [null, err.message];
      source = { ...source, blob: null, residualMap: null };
    }
    checked?.(source, blob);
  };
  const carrier = await readCarrier(bytes, { maxPixels, check }); // item 1: several gmLP chunks
  if (fromSide || reason !== null) {
    Object.assign(carrier, { blob: source.blob, residualMap: source.residualMap, notes: [] });
  }
  const embedded = fromSide ? 'sidecar' : 'embedded';
  decoded?.(carrier, blob);
  const plain = { carrier, digestOk: null, orientation: 1 };
  const ignore = (why) => ({
    ...plain,
    blob: null,
    warnings: [modelIgnored(why)],
    model: 'ignored',
    reason: why,
  });
  if (reason !== null) return ignore(reason);
  if (!blob) return { ...plain, blob, warnings: [...carrier.notes, NO_MODEL], model: 'none' };
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
      const mismatch =
        `model was fitted for a ${blob.imageWidth}x${blob.imageHeight} image, but the ` +
        `pixels are ${width}x${height}: turned, but not losslessly (jpegtran without ` +
        '-perfect?), or edited';
      if (!fallback) throw new GamutError(mismatch);
      Object.assign(carrier, { blob: null, residualMap: null, notes: [] });
      return ignore(mismatch);
    }
    warnings.push(EDITED);
  }
  if (carrier.format === 'jpeg' && blob.formatVersion < 2) warnings.push(WEAK_JPEG_DIGEST);
  return { carrier, blob, digestOk, warnings, model: embedded, orientation: orientation ?? 1 };
}
