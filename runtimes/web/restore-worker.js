// The drop-in's restoring worker (upgrade.js): a carrier's bytes in, its restored Display P3
// bands out. The whole restore runs here, off the page's thread: reading and decoding the
// carrier, its checks and digest, and driving the graph workers (workers.js) it starts itself,
// so that the page only paints the bands.

import { detectFormat } from '../node/lib/carrier.js';
import { restoreBytes } from './restorer.js';
import { openSessions } from './workers.js';

let sessions = null; // the graph workers, started with the first carrier

/** Stops a restore at the header of a file without a model: nothing to upgrade. */
class NoModel extends Error {}

const withoutModel = (header, blob) => {
  if (!blob) throw new NoModel();
};

/**
 * One request: {id, bytes, half}. The answer: {id, width, height, warnings, seconds, bands:
 * [{top, rows, data}]} (data: RGBA half floats with `half`, else 8-bit codes), or {id, skip}
 * for a file that is not a carrier (no model, not a PNG/JPEG/TIFF), or {id, error}.
 */
async function answer({ id, bytes, half }) {
  if (!detectFormat(bytes)) {
    self.postMessage({ id, skip: true }); // WebP, GIF, SVG, ...: no carrier format
    return;
  }
  try {
    sessions ??= openSessions();
    const options = { space: 'display-p3', half, keep: false, examine: withoutModel };
    const result = await restoreBytes(await sessions, bytes, options);
    const { width, height, warnings, seconds } = result;
    const bands = result.bands.map(({ top, image }) => ({
      top,
      rows: image.height,
      data: image.data,
    }));
    const moved = bands.map((band) => band.data.buffer);
    self.postMessage({ id, width, height, warnings, seconds, bands }, moved);
  } catch (err) {
    if (err instanceof NoModel) self.postMessage({ id, skip: true });
    else self.postMessage({ id, error: String(err?.message ?? err) });
  }
}

self.onmessage = ({ data }) => answer(data);
