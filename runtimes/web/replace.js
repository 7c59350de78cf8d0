// The canvas that takes an upgraded <img>'s place (gamut-onnx-web.js): the restored bands in
// Display P3, half floats where the browser has float16 canvases (8-bit codes elsewhere), laid
// out as the image was: its attributes, its size attributes as CSS pixels, and the computed
// styles that rules written for `img` gave it (they do not match a canvas).

/** Attributes that belong to an image's source, not to its box. */
const SOURCE_ATTRIBUTES = new Set([
  'src', 'srcset', 'sizes', 'alt', 'loading', 'decoding', 'fetchpriority', 'crossorigin',
  'referrerpolicy', 'usemap', 'ismap', 'width', 'height',
]); // prettier-ignore

/** Layout and look a rule for `img` may have set, carried over as inline style. */
const CARRIED_STYLES = [
  'display', 'vertical-align', 'float', 'box-sizing', 'max-width', 'max-height', 'min-width',
  'min-height', 'margin-top', 'margin-right', 'margin-bottom', 'margin-left', 'border-radius',
  'object-fit', 'object-position', 'aspect-ratio',
]; // prettier-ignore

/** Whether this browser draws half-float Display P3 canvases (restored values to 1/2048). */
export function halfFloatCanvas() {
  if (typeof Float16Array !== 'function') return false;
  const ctx = document.createElement('canvas').getContext('2d', {
    colorSpace: 'display-p3',
    colorType: 'float16',
  });
  return ctx?.getContextAttributes?.().colorType === 'float16';
}

/**
 * A canvas of the restored image's size laid out as `img` (paintBands draws it).
 * @param {HTMLImageElement} img
 * @param {{width: number, height: number}} restored
 * @returns {HTMLCanvasElement}
 */
export function canvasFor(img, { width, height }) {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const computed = getComputedStyle(img);
  const box = img.getBoundingClientRect();
  for (const { name, value } of img.attributes) {
    if (!SOURCE_ATTRIBUTES.has(name)) canvas.setAttribute(name, value);
  }
  for (const name of CARRIED_STYLES) {
    if (!img.style.getPropertyValue(name)) {
      canvas.style.setProperty(name, computed.getPropertyValue(name));
    }
  }
  // The box the image had: its size attributes, else its laid-out size where CSS scaled it.
  const size = (attribute, laidOut, natural) => {
    const given = img.getAttribute(attribute);
    if (given && /^\d+(\.\d+)?$/.test(given)) return `${given}px`;
    return laidOut && Math.abs(laidOut - natural) > 0.5 ? `${laidOut}px` : '';
  };
  if (!img.style.width) canvas.style.width = size('width', box.width, width);
  if (!img.style.height) canvas.style.height = size('height', box.height, height);
  canvas.setAttribute('role', 'img');
  if (img.alt) canvas.setAttribute('aria-label', img.alt);
  else if (img.hasAttribute('alt')) canvas.setAttribute('aria-hidden', 'true');
  canvas.dataset.gamutSrc = img.currentSrc || img.src;
  return canvas;
}

/** Longest stretch the page's thread paints before it lets other work run. */
const PAINT_SLICE_MS = 8;

/**
 * Put the restored bands on `canvas`, yielding to the page every few milliseconds so that
 * painting a 12 MP image never blocks it for long.
 * @param {HTMLCanvasElement} canvas
 * @param {{width: number, bands: {top: number, rows: number, data: ArrayBufferView}[]}} restored
 *   data: RGBA, half floats or 8-bit
 * @param {boolean} half the bands are half floats (restorer.js's `half`)
 */
export async function paintBands(canvas, { width, bands }, half) {
  const options = { colorSpace: 'display-p3', ...(half && { colorType: 'float16' }) };
  const ctx = canvas.getContext('2d', options);
  const format = { colorSpace: 'display-p3', ...(half && { pixelFormat: 'rgba-float16' }) };
  let slice = performance.now();
  for (const { top, rows, data } of bands) {
    ctx.putImageData(new ImageData(data, width, rows, format), 0, top);
    if (performance.now() - slice > PAINT_SLICE_MS) {
      await new Promise((resume) => setTimeout(resume));
      slice = performance.now();
    }
  }
}
