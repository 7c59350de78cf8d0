// Types of the public API of index.js (the JS files carry the same as JSDoc).

export class GamutError extends Error {}

export interface Blob {
  formatVersion: number;
  weightDtype: 'float16' | 'float32';
  hiddenLayers: number;
  /** L: sin/cos octaves per input channel */
  octaves: number;
  /** D: hidden units */
  width: number;
  /** MLP only at pixels with a channel <= m or >= 255 - m */
  gated: boolean;
  boundaryMargin: number;
  imageWidth: number;
  imageHeight: number;
  /** SHA-256 of the carrier pixels (docs/blob-format.md §4.2) */
  pixelDigest: Uint8Array;
  crc32: number;
  byteLength: number;
  /** row-major float32; matrices stored [in, out] */
  weights: Record<'w1' | 'b1' | 'w2' | 'b2' | 'w3' | 'b3', Float32Array>;
  shapes: Record<'w1' | 'b1' | 'w2' | 'b2' | 'w3' | 'b3', number[]>;
}

export interface Carrier {
  format: 'png' | 'tiff' | 'jpeg';
  width: number;
  height: number;
  /** H*W*3 decoded 8-bit sRGB */
  rgb: Uint8Array;
  alpha: Uint8Array | null;
  blob: Uint8Array | null;
  digestParts: Uint8Array[];
}

export interface Restored {
  width: number;
  height: number;
  /** H*W*3 linear ProPhoto RGB (ROMM primaries, D50, no transfer curve), values in [0, 1] */
  data: Float32Array;
  /** H*W straight 8-bit alpha, when the carrier has one */
  alpha?: Uint8Array;
  /** e.g. 'pixels changed after encoding (edited?): ...' */
  warnings: string[];
  blob: Blob | null;
  carrier: Carrier;
  /** the blob's pixel digest matched the carrier (null: no blob) */
  digestOk: boolean | null;
}

export interface RestoreOptions {
  /** restore.onnx to load; default: the repo's src/gamut_onnx/runtime/restore.onnx or the packed copy */
  modelPath?: string;
  /** tile edge in pixels (>= 16), default 512; results do not depend on it */
  tile?: number;
  /** turn the no-model and edited-pixels warnings into errors */
  strict?: boolean;
  /** onnxruntime intra-op threads; 0 = its default */
  threads?: number;
}

export const DEFAULT_TILE: number;
export const PROPHOTO_ICC: Uint8Array;

/** Restore a carrier file (PNG, TIFF or JPEG bytes). Throws GamutError on bad input. */
export function restore(
  carrierBytes: Uint8Array | ArrayBuffer,
  options?: RestoreOptions,
): Promise<Restored>;

/** Validate and unpack a raw weight blob (docs/blob-format.md §4.1). */
export function readBlob(blobBytes: Uint8Array): Blob;

/** The fields of `gamut-onnx inspect --json` (plus boundary_margin). */
export function inspect(carrierBytes: Uint8Array | ArrayBuffer): Promise<Record<string, unknown>>;

/** 16-bit ROMM-encoded ProPhoto TIFF bytes, as `gamut-onnx decode` writes. */
export function encodeRestoredTiff(restored: {
  width: number;
  height: number;
  data: Float32Array;
  alpha?: Uint8Array;
}): Uint8Array;

/** Restore steps 1-2 only: 8-bit sRGB (H*W*3) -> clipped linear ProPhoto. */
export function clippedProPhoto(rgb: Uint8Array): Float32Array;

export function defaultModelPath(): string;
