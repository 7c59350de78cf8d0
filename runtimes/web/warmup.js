// Work done while the page loads so that the first file restores as fast as the next. Browsers
// start WebAssembly on a quick baseline compiler and optimise the functions that turn out hot
// while they run (V8's dynamic tiering), so a cold page restored its first 12 MP carrier in
// 4.8 s and the next in 2.8 s: the graph kernels, the grids, the PNG decoder (JavaScript, tiered
// the same way) and the AVIF decoder all ran unoptimised, and the AVIF decoder's module was
// compiled only when the first map arrived. Here a synthetic image is read as a PNG and goes
// through the three graphs as a carrier with context and a residual map does (every pixel
// through the MLP), and the map worker decodes a tiny AVIF.

import { weightShapes } from '../node/lib/blob.js';
import { readCarrier } from '../node/lib/carrier.js';
import { crc32 } from '../node/lib/crc32.js';
import { computeGrids, modelFeeds, restoreBands, restoreImage } from '../node/lib/restore.js';
import { encodeBands } from './draw.js';
import { shared } from './workers.js';

/** Rows x columns of the synthetic image: enough runs to make the kernels hot everywhere. */
const WARM_SIZE = [512, 768];
/** imagecodecs.avif_encode(np.zeros((8, 8, 3), np.uint8), level=0): 305 bytes. */
const TINY_AVIF =
  'AAAAIGZ0eXBhdmlmAAAAAGF2aWZtaWYxbWlhZk1BMUEAAADrbWV0YQAAAAAAAAAhaGRscgAAAAAAAAAAcGljdAAAAAAA' +
  'AAAAAAAAAAAAAAAOcGl0bQAAAAAAAQAAAB5pbG9jAAAAAEQAAAEAAQAAAAEAAAETAAAAHgAAAChpaW5mAAAAAAABAAAA' +
  'GmluZmUCAAAAAAEAAGF2MDFDb2xvcgAAAABqaXBycAAAAEtpcGNvAAAAFGlzcGUAAAAAAAAACAAAAAgAAAAQcGl4aQAA' +
  'AAADCAgIAAAADGF2MUOBIAAAAAAAE2NvbHJuY2x4AAIAAgAGgAAAABdpcG1hAAAAAAAAAAEAAQQBAoMEAAAAJm1kYXQS' +
  'AAoIOAi/bQICBpAyEB/yYoTgABYAABCQNZO/ncY=';

/** Bytes that look like a photo to no one but cover every code value (a multiplicative hash). */
function noise(length, seed) {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (Math.imul(i + seed, 2654435761) >>> 24) & 0xff;
  return out;
}

/** A PNG chunk: length, type, data, CRC. */
function chunk(type, data) {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(Array.from(type, (c) => c.charCodeAt(0)), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** An 8-bit RGB PNG of `rgb` whose rows use the five filter types in turn. */
async function pngOf(rgb, width, height) {
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    raw[y * (1 + width * 3)] = y % 5;
    raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  }
  const deflated = new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream('deflate')));
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const parts = [Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10), chunk('IHDR', ihdr),
    chunk('IDAT', new Uint8Array(await deflated.arrayBuffer())), chunk('IEND', new Uint8Array())];
  return new Uint8Array(await new Blob(parts).arrayBuffer());
}

/**
 * Run the page's sessions once on a synthetic carrier (context grids, an ungated MLP of width
 * 32 with 8 octaves, a residual map, the output graph for a Display P3 canvas) and decode a
 * tiny AVIF in the map worker. Resolves with the seconds it took.
 * @param {object} ort
 * @param {Awaited<ReturnType<import('./workers.js').openSessions>>} sessions
 */
export async function warmUp(ort, sessions) {
  const started = performance.now();
  const { pool, parallel } = sessions;
  const [height, width] = WARM_SIZE;
  const avif = Uint8Array.from(atob(TINY_AVIF), (c) => c.charCodeAt(0));
  const decoding = pool.avif(avif);
  const shapes = weightShapes(32, 8, true);
  const weights = Object.fromEntries(
    Object.entries(shapes).map(([name, shape]) => [
      name,
      new Float32Array(shape.reduce((a, b) => a * b, 1)),
    ]),
  );
  const blob = { weights, shapes, gated: false, boundaryMargin: 0, carrierTransform: 2 };
  const { rgb: pixels } = await readCarrier(await pngOf(noise(width * height * 3, 1), width, height));
  const rgb = shared(pixels);
  const grids = await computeGrids(ort, sessions.grids, rgb, width, height, { parallel });
  const map = { scale: 1, power: 0.5, samples: shared(noise(width * height * 3, 7)) };
  const image = restoreImage(ort, { rgb, width, height }, modelFeeds(ort, blob), { grids, map });
  const bands = restoreBands(ort, sessions.restore, image, { parallel });
  const options = { width, space: 'display-p3', alpha: null, parallel };
  for await (const band of encodeBands(ort, sessions.output, bands, options)) void band;
  await decoding;
  return (performance.now() - started) / 1000;
}
