// Limits checked from file headers before any pixel is decoded, so a hostile file costs nothing
// (as the reference reader's src/gamut_onnx/limits.py), and the helpers that keep error messages
// built from file bytes printable and on one line. Shared by Node and the browser page.

import { GamutError } from './blob.js';

/** Largest image read by default: the largest sensors (200 MP) pass, 16000 x 16000 bombs not. */
export const DEFAULT_MAX_PIXELS = 250_000_000;
/** The environment variable the Node package and the Python CLI read the limit from. */
export const MAX_PIXELS_ENV = 'GAMUT_ONNX_MAX_PIXELS';
/** All ancillary chunks / tag values of one file together. */
export const MAX_METADATA_BYTES = 16 << 20;
/** How a warning about a residual map that cannot be used starts (damage loses only the map). */
export const MAP_IGNORED = 'residual map ignored';

const thousands = (n) => n.toLocaleString('en-US');

/**
 * The limit from a GAMUT_ONNX_MAX_PIXELS value (undefined or '' -> the default).
 * @param {string|undefined} value
 */
export function maxPixelsFrom(value) {
  if (value === undefined || value === '') return DEFAULT_MAX_PIXELS;
  if (!/^[0-9]+$/.test(value) || !(Number(value) >= 1)) {
    throw new GamutError(
      `${MAX_PIXELS_ENV}=${repr(value)} is not a positive whole number of pixels`,
    );
  }
  return Number(value);
}

/** Refuse an image above `limit` pixels, from the size its header declares. */
export function checkPixels(what, width, height, limit = DEFAULT_MAX_PIXELS) {
  if (!(Number.isInteger(limit) && limit >= 1)) {
    throw new GamutError(`maxPixels must be a positive whole number, not ${repr(String(limit))}`);
  }
  const count = width * height;
  if (count > limit) {
    throw new GamutError(
      `${what}: ${width}x${height} is ${thousands(count)} pixels, above the limit of ` +
        `${thousands(limit)} (raise it with maxPixels or ${MAX_PIXELS_ENV})`,
    );
  }
}

/**
 * Bytes or a string from a file, quoted with every byte outside printable ASCII escaped (like
 * Python's repr), at most `max` characters: safe inside a one-line message.
 * @param {Uint8Array|string} value
 */
export function repr(value, max = 40) {
  const codes = typeof value === 'string' ? Array.from(value, (c) => c.charCodeAt(0)) : value;
  let out = '';
  for (const b of codes) {
    if (out.length >= max) return `'${out}...'`;
    if (b === 0x27 || b === 0x5c) out += '\\' + String.fromCharCode(b);
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += '\\x' + (b & 0xff).toString(16).padStart(2, '0');
  }
  return `'${out}'`;
}

/** A library's error text as one printable line of at most `max` characters. */
export function oneLine(text, max = 160) {
  const line =
    String(text)
      .trim()
      .split(/[\r\n]/)[0] ?? '';
  const clean = line.replace(/[^\x20-\x7e]/g, (c) => {
    const code = c.charCodeAt(0);
    const hex = code.toString(16);
    return code > 0xff ? `\\u${hex.padStart(4, '0')}` : `\\x${hex.padStart(2, '0')}`;
  });
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

/** The first few numbers of a list, then how many more: a one-line message (as the reference). */
export function few(numbers, shown = 8) {
  const head = numbers.slice(0, shown).join(', ');
  return numbers.length > shown ? `${head}, ... ${numbers.length - shown} more` : head;
}
