// The sidecar file (docs/blob-format.md, "Sidecar file"): a carrier's model (blob and optional
// residual map) kept beside it as `photo.jpg.gamut`, for files whose metadata a tool dropped.
// Hostile input like a carrier: lengths are checked against the limit and the file's size
// before anything is copied. Shared by Node and the browser page (which is handed the bytes).

import { GamutError } from './blob.js';
import { crc32 } from './crc32.js';
import { MAX_METADATA_BYTES, repr } from './limits.js';

export const SIDECAR_MAGIC = 'GAMUTSID';
export const SIDECAR_SUFFIX = '.gamut';
const HEADER_BYTES = 20; // magic, u16 version, u16 flags, u32 blob length, u32 map length
/** The largest sidecar: what a carrier may hold, plus the framing. */
export const MAX_SIDECAR_BYTES = HEADER_BYTES + MAX_METADATA_BYTES + 4;

/**
 * Check a sidecar in the spec's order and return its payloads (copies).
 * @param {Uint8Array} bytes
 * @param {string} [name] the file's name, for the messages
 * @returns {{blob: Uint8Array, residualMap: Uint8Array|null}}
 */
export function readSidecar(bytes, name) {
  const at = name ? `${name}: ` : '';
  if (bytes.length < HEADER_BYTES + 4) {
    throw new GamutError(`${at}not a gamut-onnx sidecar (truncated: ${bytes.length} bytes)`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const magic = bytes.subarray(0, 8);
  if (String.fromCharCode(...magic) !== SIDECAR_MAGIC) {
    throw new GamutError(`${at}not a gamut-onnx sidecar (bad magic ${repr(magic)})`);
  }
  const [version, flags] = [dv.getUint16(8, true), dv.getUint16(10, true)];
  const [blobLength, mapLength] = [dv.getUint32(12, true), dv.getUint32(16, true)];
  if (version !== 1) {
    throw new GamutError(`${at}sidecar version ${version} is not supported (this build reads 1)`);
  }
  if (flags) {
    throw new GamutError(`${at}sidecar flags 0x${flags.toString(16).padStart(4, '0')} are unknown`);
  }
  if (blobLength === 0 || blobLength + mapLength > MAX_METADATA_BYTES) {
    throw new GamutError(
      `${at}sidecar claims a ${blobLength}-byte blob and ${mapLength}-byte map`,
    );
  }
  const expected = HEADER_BYTES + blobLength + mapLength + 4;
  if (bytes.length !== expected) {
    throw new GamutError(`${at}sidecar is ${bytes.length} bytes, its header says ${expected}`);
  }
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== dv.getUint32(bytes.length - 4, true)) {
    throw new GamutError(`${at}sidecar CRC32 mismatch (the file is corrupted)`);
  }
  const blob = bytes.slice(HEADER_BYTES, HEADER_BYTES + blobLength);
  const residualMap = mapLength ? bytes.slice(HEADER_BYTES + blobLength, bytes.length - 4) : null;
  return { blob, residualMap };
}
