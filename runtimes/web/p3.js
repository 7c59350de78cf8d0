// Linear ProPhoto (ROMM, D50) -> a display canvas: ProPhoto -> XYZ (D50) -> Bradford D50 -> D65
// -> linear Display P3 (or sRGB where the browser has no P3 canvas) -> sRGB transfer curve, which
// Display P3 shares. Colours outside the display's gamut are clipped per channel: ProPhoto is far
// larger than P3, so the page shows what the screen can, while the float data stays exact.

const D50 = [0.96422, 1, 0.82521];
const D65 = [0.95047, 1, 1.08883];
const PRIMARIES = {
  prophoto: {
    xy: [
      [0.7347, 0.2653],
      [0.1596, 0.8404],
      [0.0366, 0.0001],
    ],
    white: D50,
  },
  'display-p3': {
    xy: [
      [0.68, 0.32],
      [0.265, 0.69],
      [0.15, 0.06],
    ],
    white: D65,
  },
  srgb: {
    xy: [
      [0.64, 0.33],
      [0.3, 0.6],
      [0.15, 0.06],
    ],
    white: D65,
  },
};
const BRADFORD = [
  [0.8951, 0.2664, -0.1614],
  [-0.7502, 1.7135, 0.0367],
  [0.0389, -0.0685, 1.0296],
];

const mul = (a, b) =>
  a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
const apply = (m, v) => m.map((row) => row[0] * v[0] + row[1] * v[1] + row[2] * v[2]);
const diag = (v) => v.map((x, i) => v.map((_, j) => (i === j ? x : 0)));

function inverse(m) {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h;
  const B = f * g - d * i;
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [
    [A, c * h - b * i, b * f - c * e],
    [B, a * i - c * g, c * d - a * f],
    [C, b * g - a * h, a * e - b * d],
  ].map((row) => row.map((x) => x / det));
}

/** RGB -> XYZ: columns are the primaries' XYZ, scaled so that RGB (1, 1, 1) is the white. */
function rgbToXyz({ xy, white }) {
  const cols = xy.map(([x, y]) => [x / y, 1, (1 - x - y) / y]);
  const p = [0, 1, 2].map((r) => cols.map((col) => col[r]));
  return mul(p, diag(apply(inverse(p), white)));
}

function bradford(from, to) {
  const s = apply(BRADFORD, from);
  const d = apply(BRADFORD, to);
  return mul(inverse(BRADFORD), mul(diag(d.map((x, i) => x / s[i])), BRADFORD));
}

/** 3x3 matrix from linear ProPhoto to the linear RGB of `space` ('display-p3' or 'srgb'). */
export function prophotoTo(space) {
  const target = PRIMARIES[space];
  return mul(
    inverse(rgbToXyz(target)),
    mul(bradford(D50, target.white), rgbToXyz(PRIMARIES.prophoto)),
  );
}

const encode = (v) => (v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055);

/**
 * Restored linear ProPhoto -> 8-bit RGBA for an ImageData in `space`.
 * @param {Float32Array} data H*W*3
 * @param {Uint8Array|undefined} alpha H*W
 * @param {'display-p3'|'srgb'} space
 * @param {Uint8Array} [highlight] H*W, non-zero: paint the pixel magenta
 */
export function toDisplayRgba(data, alpha, space, highlight) {
  const m = prophotoTo(space);
  const n = data.length / 3;
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    const rgb = highlight?.[i]
      ? [1, 0, 1]
      : apply(m, [data[3 * i], data[3 * i + 1], data[3 * i + 2]]);
    for (let k = 0; k < 3; k++)
      out[4 * i + k] = Math.round(255 * encode(Math.min(Math.max(rgb[k], 0), 1)));
    out[4 * i + 3] = alpha ? alpha[i] : 255;
  }
  return out;
}
