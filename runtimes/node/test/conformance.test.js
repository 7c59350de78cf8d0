// Every vector of tests/conformance/vectors/manifest.json through the Node runtime.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { encode as encodePng } from 'fast-png';

import { clippedProPhoto, inspect, restore } from '../index.js';
import { crc32 } from '../lib/crc32.js';
import { maxAbsError, readNpy } from './npy.js';

const VECTORS = fileURLToPath(new URL('../../../tests/conformance/vectors/', import.meta.url));
const manifest = JSON.parse(readFileSync(VECTORS + 'manifest.json', 'utf8'));
const PYTHON = fileURLToPath(new URL('../../../.venv/bin/python', import.meta.url));

for (const vector of manifest.vectors) {
  test(`${vector.name} (${vector.expect})`, async (t) => {
    const bytes = readFileSync(VECTORS + vector.file);
    if (vector.expect === 'error') {
      await assert.rejects(restore(bytes), (err) => {
        assert.equal(err.name, 'GamutError');
        assert.ok(err.message.includes(vector.message), err.message);
        return true;
      });
      return;
    }
    const result = await restore(bytes);
    if (vector.expect === 'warning') {
      assert.ok(
        result.warnings.some((w) => w.includes(vector.message)),
        String(result.warnings),
      );
    } else {
      assert.deepEqual(result.warnings, []);
    }
    const expected = readNpy(readFileSync(VECTORS + vector.output));
    assert.deepEqual(expected.shape, [result.height, result.width, 3]);
    const error = maxAbsError(result.data, expected.data);
    t.diagnostic(`max abs error ${error.toExponential(2)} (allowed ${vector.max_abs_error})`);
    assert.ok(error <= vector.max_abs_error, `max abs error ${error}`);
  });
}

test('tiling does not change the result (16-pixel tiles)', async () => {
  const bytes = readFileSync(VECTORS + 'png_ungated_fp16.png');
  const whole = await restore(bytes);
  const tiled = await restore(bytes, { tile: 16 });
  assert.deepEqual(tiled.data, whole.data);
});

test('alpha comes through; strict turns the edited-pixels warning into an error', async () => {
  const withAlpha = await restore(readFileSync(VECTORS + 'tiff_alpha_fp32_w16.tif'));
  assert.equal(withAlpha.alpha.length, withAlpha.width * withAlpha.height);
  const edited = readFileSync(VECTORS + 'neg_edited_pixels.png');
  await assert.rejects(restore(edited, { strict: true }), /pixels changed after encoding/);
});

test('inspect reports the blob and the digest check', async () => {
  const jpeg = await inspect(readFileSync(VECTORS + 'jpeg_q90_gated.jpg'));
  assert.equal(jpeg.carrier, 'jpeg');
  assert.equal(jpeg.gated, true);
  assert.equal(jpeg.pixel_digest_ok, true); // the JPEG digest hashes the coded scan (§4.2)
  const edited = await inspect(readFileSync(VECTORS + 'neg_edited_pixels.png'));
  assert.equal(edited.pixel_digest_ok, false);
});

/** PNG chunk framing: length, type, data, CRC of type + data. */
function chunk(type, data) {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

test('the digest hashes decoded pixels: an Adam7 re-encoding restores the same', async () => {
  const original = readFileSync(VECTORS + 'png_gated_fp16.png');
  const before = await restore(original);
  const { rgb, width, height, blob } = before.carrier;
  const interlaced = encodePng(
    { width, height, data: rgb, channels: 3, depth: 8 },
    { interlace: 'Adam7' },
  );
  assert.equal(interlaced[8 + 8 + 12], 1); // IHDR interlace method
  const ihdrEnd = 8 + 25;
  const withBlob = Buffer.concat([
    interlaced.subarray(0, ihdrEnd),
    chunk('gmLP', blob),
    interlaced.subarray(ihdrEnd),
  ]);
  const after = await restore(withBlob);
  assert.deepEqual(after.warnings, []);
  assert.deepEqual(after.data, before.data);
});

test(
  'TIFF variants: big-endian, LZW, strips of 5 rows restore the same',
  { skip: !existsSync(PYTHON) && 'no .venv' },
  async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'gamut-tiff-'));
    t.after(() => rmSync(work, { recursive: true, force: true }));
    const source = VECTORS + 'tiff_alpha_fp32_w16.tif';
    const script = `
import sys, tifffile
with tifffile.TiffFile(sys.argv[1]) as tif:
    page = tif.pages[0]
    pixels, blob = page.asarray(), page.tags[65117].value
tifffile.imwrite(sys.argv[2], pixels, byteorder=">", photometric="rgb", extrasamples=["unassalpha"],
                 compression="lzw", rowsperstrip=5, extratags=[(65117, 7, len(blob), blob, True)])`;
    await promisify(execFile)(PYTHON, ['-c', script, source, join(work, 'be.tif')]);
    const variant = readFileSync(join(work, 'be.tif'));
    assert.equal(String.fromCharCode(variant[0], variant[1]), 'MM');
    const before = await restore(readFileSync(source));
    const after = await restore(variant);
    assert.deepEqual(after.warnings, []);
    assert.deepEqual(after.data, before.data);
    assert.deepEqual(after.alpha, before.alpha);
  },
);

// A cross-check of lib/colour.js against the graph. Not bit for bit: the graph may compute the
// colour of pixels the MLP skips with a MatMul (FMA), a float32 rounding step away from §5 step 2.
test('steps 1-2 in JS agree with the graph where a gated model does not run', async () => {
  const result = await restore(readFileSync(VECTORS + 'png_gated_fp16.png'));
  const { rgb } = result.carrier;
  const p = clippedProPhoto(rgb);
  let checked = 0;
  for (let i = 0; i < rgb.length; i += 3) {
    if ([0, 1, 2].some((k) => rgb[i + k] === 0 || rgb[i + k] === 255)) continue;
    for (let k = 0; k < 3; k++) {
      assert.ok(Math.abs(result.data[i + k] - p[i + k]) <= 2 ** -23, `pixel ${i / 3}`);
    }
    checked++;
  }
  assert.ok(checked > 100, `only ${checked} interior pixels`);
});

test('a file without a model decodes as clipped sRGB, with the documented warning', async () => {
  const { rgb, width, height } = (await restore(readFileSync(VECTORS + 'png_gated_fp16.png')))
    .carrier;
  const plain = encodePng({ width, height, data: rgb, channels: 3, depth: 8 });
  const result = await restore(plain);
  assert.deepEqual(result.warnings, [
    'no gamut-onnx model in this file: decoding as plain sRGB (clip-and-expand)',
  ]);
  assert.deepEqual(result.data, clippedProPhoto(rgb));
  await assert.rejects(restore(plain, { strict: true }), /no gamut-onnx model/);
  assert.equal((await inspect(plain)).has_model, false);
});

test('§4.2 errors: a resized image, two gmLP chunks', async () => {
  const { blob } = (await restore(readFileSync(VECTORS + 'png_gated_fp16.png'))).carrier;
  const small = encodePng({
    width: 10,
    height: 8,
    data: new Uint8Array(240),
    channels: 3,
    depth: 8,
  });
  const withBlob = (...blobs) =>
    Buffer.concat([
      small.subarray(0, 33),
      ...blobs.map((b) => chunk('gmLP', b)),
      small.subarray(33),
    ]);
  await assert.rejects(restore(withBlob(blob)), {
    name: 'GamutError',
    message:
      'model was fitted for a 48x32 image, but the pixels are 10x8 (resized after encoding?)',
  });
  await assert.rejects(restore(withBlob(blob, blob)), {
    message: 'PNG holds 2 gmLP chunks; a carrier has at most one',
  });
});
