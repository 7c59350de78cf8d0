// Types of the public API of index.js (the JS files carry the same as JSDoc).

export class GamutError extends Error {}

/** The photo's own primaries (blob byte 13; 'icc': described by the ICC record). */
export type SourcePrimaries = 'prophoto' | 'bt709' | 'p3' | 'adobe' | 'bt2020' | 'icc';
/** The photo's own transfer function (blob byte 23; 'icc' with an ICC record). */
export type SourceTransfer =
  | 'icc'
  | 'linear'
  | 'srgb'
  | 'romm'
  | 'gamma22'
  | 'bt709'
  | 'pq'
  | 'hlg';

export interface Blob {
  /** 3 (carrier context), 2, or 1 for blobs written before 2026-11-27 (§1.1) */
  formatVersion: 1 | 2 | 3;
  weightDtype: 'float16' | 'float32';
  hiddenLayers: number;
  /** L: sin/cos octaves per input channel */
  octaves: number;
  /** D: hidden units */
  width: number;
  /** input layout 2 (format 3): the MLP also sees the carrier's context grids (grids.onnx) */
  context: boolean;
  /** MLP only at pixels with a channel <= m or >= 255 - m */
  gated: boolean;
  boundaryMargin: number;
  imageWidth: number;
  imageHeight: number;
  /** SHA-256 of the carrier pixels (docs/blob-format.md §4.2) */
  pixelDigest: Uint8Array;
  /** sRGB -> ProPhoto matrices of §5 step 2: 1 legacy (version 1), 2 colour-science CAT02 */
  carrierTransform: 1 | 2;
  /** version 1: 'prophoto' and 'romm' (the restore's own space) */
  sourcePrimaries: SourcePrimaries;
  sourceTransfer: SourceTransfer;
  /**
   * As `gamut-onnx inspect` names it: 'prophoto', 'prophoto-linear', 'display-p3', 'adobe-rgb',
   * 'rec2020', 'rec2020-pq', 'rec2020-hlg', 'srgb', 'srgb-linear'; other combinations as
   * 'primaries/transfer'; 'icc' with a source ICC profile. Information for writing the photo in
   * its own space: the restore itself always returns linear ProPhoto.
   */
  sourceSpace: string;
  /** the inflated source ICC profile (record 128, at most 4 MiB), or null */
  sourceIcc: Uint8Array | null;
  /** the source's code lattice the restore snaps to (record 131, §5.3), or null */
  lattice: Lattice | null;
  crc32: number;
  byteLength: number;
  /** row-major float32; matrices stored [in, out] */
  weights: Record<'w1' | 'b1' | 'w2' | 'b2' | 'w3' | 'b3', Float32Array>;
  shapes: Record<'w1' | 'b1' | 'w2' | 'b2' | 'w3' | 'b3', number[]>;
}

export interface Lattice {
  /** 1: pixels the MLP does not run on, 2: the restored pixels, 3: both */
  mode: 1 | 2 | 3;
  /** 1 (shared by the three channels) or 3 */
  curves: 1 | 3;
  /** codes per channel, 2..1024 */
  levels: number;
  /** [2, 3, 3] row-major: linear ProPhoto -> the source's linear RGB, and back */
  matrices: Float32Array;
  /** [curves, levels]: the linear value of each code */
  codes: Float32Array;
}

export interface Carrier {
  format: 'png' | 'tiff' | 'jpeg';
  width: number;
  height: number;
  /** H*W*3 decoded 8-bit sRGB */
  rgb: Uint8Array;
  alpha: Uint8Array | null;
  blob: Uint8Array | null;
  /** the optional residual map's payload (spec §9; PNG and JPEG carriers) */
  residualMap: Uint8Array | null;
  /** soft problems with the metadata, reported as warnings (a TIFF blob tag rewritten as text) */
  notes: string[];
  /** what the pixel digest hashes (§4.2); JPEG: APP0 and APP14 included */
  digestParts: Uint8Array[];
  /** the same for version-1 blobs (JPEG: without APP0/APP14) */
  legacyDigestParts: Uint8Array[];
}

export interface Restored {
  width: number;
  height: number;
  /** H*W*3 linear ProPhoto RGB (ROMM primaries, D50, no transfer curve), values in [0, 1] */
  data: Float32Array;
  /** H*W straight 8-bit alpha, when the carrier has one */
  alpha?: Uint8Array;
  /**
   * e.g. 'pixels changed after encoding (edited?): ...'; a JPEG with a version-1 blob also gets
   * 'this model (blob format 1) cannot tell whether the JPEG's APP0/APP14 segments were changed ...'
   */
  warnings: string[];
  blob: Blob | null;
  carrier: Carrier;
  /** the blob's pixel digest matched the carrier (null: no blob) */
  digestOk: boolean | null;
  /** the carrier's residual map (spec §9) was applied */
  residualMap: boolean;
  /** where the model came from: the file, its sidecar, none, or a damaged one ignored */
  model: 'embedded' | 'sidecar' | 'none' | 'ignored';
}

/** InferenceSession-like runners of the three graphs, as openSessions() returns them. */
export interface Sessions {
  restore: unknown;
  grids: unknown;
  output: unknown;
  /** runs to keep in flight at once (2 per worker thread; 1 for your own InferenceSessions) */
  parallel?: number;
}

export interface RestoreOptions {
  /** restore.onnx to load (as graphs.restore) */
  modelPath?: string;
  /**
   * the graphs to load; default: the repo's src/gamut_onnx/runtime/*.onnx, else the copies
   * packed beside index.js (defaultGraphPaths())
   */
  graphs?: { restore?: string; grids?: string; output?: string };
  /**
   * your own onnxruntime-node InferenceSessions over restore.onnx, grids.onnx and output.onnx
   * (run one at a time unless `parallel` says otherwise), instead of openSessions()'
   */
  sessions?: Sessions;
  /**
   * square tiles of this edge (>= 16) per restore.onnx run; default: bands of whole rows of about
   * 65,536 pixels. Results do not depend on it (within an ulp where a gated model runs: the
   * CPU's Sin rounds its vectorised body and its tail differently)
   */
  tile?: number;
  /** turn the no-model and edited-pixels warnings into errors */
  strict?: boolean;
  /**
   * a damaged model (its chunk or segments, the blob, a size it was not fitted for) gives the
   * plain sRGB expansion and one warning instead of a GamutError, as the CLI does without
   * --strict (ignored with strict); `model` then says 'ignored'
   */
  fallback?: boolean;
  /**
   * the bytes of the carrier's sidecar file (`photo.jpg.gamut`, docs/blob-format.md §10), whose
   * model is used when the file holds no usable one; `model` then says 'sidecar'
   */
  sidecar?: Uint8Array | ArrayBuffer;
  /** worker threads running the graphs (one single-threaded session each); default: the cores */
  threads?: number;
  /**
   * larger images are refused from their header, before any pixel is decoded; default: the
   * environment variable GAMUT_ONNX_MAX_PIXELS, else DEFAULT_MAX_PIXELS (250,000,000)
   */
  maxPixels?: number;
}

export const DEFAULT_MAX_PIXELS: number;

export const PROPHOTO_ICC: Uint8Array;

/** The named output spaces of encode(): 'prophoto', 'display-p3', 'srgb'. */
export const SPACE_NAMES: string[];

/**
 * Restore a carrier file (PNG, TIFF or JPEG bytes; blob formats 1 to 3): every per-pixel step
 * runs in grids.onnx and restore.onnx. Throws GamutError on bad input, and when the graph's
 * residual_sum says its output is not finite.
 */
export function restore(
  carrierBytes: Uint8Array | ArrayBuffer,
  options?: RestoreOptions,
): Promise<Restored>;

/**
 * Restore straight into the 16-bit ProPhoto TIFF of encodeRestoredTiff(), band by band (the
 * CLI's path: the float image is never held whole).
 */
export function restoreTiff(
  carrierBytes: Uint8Array | ArrayBuffer,
  options?: RestoreOptions,
): Promise<Omit<Restored, 'data'> & { tiff: Uint8Array }>;

/**
 * Codes of linear ProPhoto in a named space, through output.onnx (docs/blob-format.md §6.3):
 * 'prophoto' (ROMM curve), 'display-p3' or 'srgb' (sRGB curve); `bits` 16 (default) down to 8.
 * H*W*3 values in 0 ... 2^bits - 1.
 */
export function encode(
  restored: { width: number; height: number; data: Float32Array },
  space?: 'prophoto' | 'display-p3' | 'srgb',
  options?: { bits?: number; threads?: number },
): Promise<Uint16Array>;

/** Sessions over the three graphs in worker threads (created once per process and size). */
export function openSessions(options?: {
  modelPath?: string;
  graphs?: { restore?: string; grids?: string; output?: string };
  threads?: number;
}): Promise<Sessions>;

/** Validate and unpack a raw weight blob, version 1 or 2 (docs/blob-format.md §4.1). */
export function readBlob(blobBytes: Uint8Array): Blob;

/** What `inspect` reports: the fields of `gamut-onnx inspect --json` (less `file`). */
export interface InspectInfo {
  carrier: 'png' | 'tiff' | 'jpeg';
  image_width: number;
  image_height: number;
  alpha: boolean;
  has_model: boolean;
  // The rest only when has_model:
  blob_bytes?: number;
  format_version?: 1 | 2 | 3;
  width?: number;
  hidden_layers?: number;
  octaves?: number;
  context?: boolean;
  weight_dtype?: 'float16' | 'float32';
  /** Blob['sourceSpace'], e.g. 'prophoto', 'display-p3', 'icc' */
  source_space?: string;
  /** length of the inflated source ICC profile, 0 without one */
  source_icc_bytes?: number;
  carrier_transform?: 1 | 2;
  gated?: boolean;
  boundary_margin?: number;
  /** [width, height] */
  model_image_size?: [number, number];
  /** 8 hex digits */
  blob_crc32?: string;
  /** 64 hex digits */
  pixel_digest?: string;
  pixel_digest_ok?: boolean;
}

/** What a carrier holds, as `gamut-onnx inspect --json` reports it. */
export function inspect(
  carrierBytes: Uint8Array | ArrayBuffer,
  options?: { maxPixels?: number },
): Promise<InspectInfo>;

/**
 * 16-bit ROMM-encoded ProPhoto TIFF bytes, as `gamut-onnx decode --space prophoto` writes: codes
 * from output.onnx, horizontal predictor, deflate.
 */
export function encodeRestoredTiff(
  restored: {
    width: number;
    height: number;
    data: Float32Array;
    alpha?: Uint8Array;
  },
  options?: { threads?: number },
): Promise<Uint8Array>;

/** Where the three graphs load from: the repo's src/gamut_onnx/runtime/, else beside index.js. */
export function defaultGraphPaths(): { restore: string; grids: string; output: string };

/** restore.onnx's path: defaultGraphPaths().restore. */
export function defaultModelPath(): string;
