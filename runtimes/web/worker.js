// A Web Worker of the page's pool (workers.js, ../node/lib/pool.js): onnxruntime-web sessions on
// one thread each, or the residual map's AVIF decoder (../node/lib/jobs.js). onnxruntime-web runs
// one session.run at a time and its intra-op threads help these small elementwise graphs little,
// so tiles run side by side in workers instead, as in Node. A run may ask for its `codes` as
// the canvas's RGBA (`rgba`; `half`: float16 for a float16 canvas): one pass here instead of one
// on the page's thread; the side
// worker also converts the carrier for the sRGB canvas ('carrier').
// Workers see no import map: the libraries load by their paths under node_modules.

import { answerBuffers, jobHandler } from '../node/lib/jobs.js';
import { rgba, rgbaHalf } from './rgba.js';

const ORT = new URL('./node_modules/onnxruntime-web/dist/', import.meta.url).href;
const AVIF = new URL('./node_modules/@jsquash/avif/decode.js', import.meta.url).href;
let ortReady = null;
let avifReady = null;

const handle = jobHandler({
  onnxruntime: () =>
    (ortReady ??= import(`${ORT}ort.wasm.min.mjs`).then((ort) => {
      ort.env.wasm.wasmPaths = ORT; // local files only
      ort.env.wasm.numThreads = 1; // the pool runs one worker per core
      return ort;
    })),
  sessionOptions: { executionProviders: ['wasm'], graphOptimizationLevel: 'all' },
  decodeAvif: async (bytes) => (await (avifReady ??= import(AVIF))).default(bytes),
});

/**
 * The carrier as the sRGB canvas shows it: packed as RGBA and converted to the canvas's space
 * here, while the graph workers restore, so that the page only puts the pixels at the end.
 * Putting sRGB pixels on a canvas of `space` and reading them back in that space gives the
 * canvas's own bytes (opaque or not), as putting them on the page's canvas would.
 */
function carrierPixels({ rgb, alpha, width, height, space }) {
  const image = new ImageData(rgba(rgb, alpha, null), width, height, { colorSpace: 'srgb' });
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { colorSpace: space });
  ctx.putImageData(image, 0, 0);
  const converted = ctx.getImageData(0, 0, width, height, { colorSpace: space });
  return { pixels: { type: 'uint8', data: converted.data, dims: [height, width, 4] } };
}

async function answer(job) {
  if (job.op === 'carrier') return carrierPixels(job);
  const result = await handle(job);
  if (!job.rgba) return result;
  if (job.rgba.half) {
    const { encoded, ...rest } = result;
    const [rows, width] = encoded.dims;
    const pixels = rgbaHalf(encoded.data, job.rgba.alpha);
    return { ...rest, rgba: { type: 'float16', data: pixels, dims: [rows, width, 4] } };
  }
  const { codes, ...rest } = result;
  const [rows, width] = codes.dims;
  const pixels = rgba(codes.data, job.rgba.alpha, job.rgba.highlight);
  return { ...rest, rgba: { type: 'uint8', data: pixels, dims: [rows, width, 4] } };
}

self.onmessage = ({ data: job }) => {
  answer(job).then(
    (result) => {
      self.postMessage({ id: job.id, result }, answerBuffers(result));
    },
    (err) => self.postMessage({ id: job.id, error: String(err?.message ?? err) }),
  );
};
