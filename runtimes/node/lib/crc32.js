// CRC-32 (zlib / PNG / ISO-HDLC: reflected polynomial 0xEDB88320), docs/blob-format.md §2.
// Hand-written because node:zlib.crc32 does not exist in browsers and this module is shared.

const TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c >>> 0;
}

/**
 * @param {Uint8Array} bytes
 * @param {number} [crc] running value from a previous call (for data in pieces)
 * @returns {number} unsigned 32-bit CRC
 */
export function crc32(bytes, crc = 0) {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
