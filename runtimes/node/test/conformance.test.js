// Every vector of tests/conformance/vectors/manifest.json through the Node runtime.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { encode as encodePng } from 'fast-png';
import ort from 'onnxruntime-node';

import { clippedProPhoto, inspect, restore } from '../index.js';
import { crc32 } from '../lib/crc32.js';
import { restoreWith } from '../lib/restore.js';
import { maxAbsError, readNpy } from './npy.js';

const VECTORS = fileURLToPath(new URL('../../../tests/conformance/vectors/', import.meta.url));
const manifest = JSON.parse(readFileSync(VECTORS + 'manifest.json', 'utf8'));
const PYTHON = fileURLToPath(new URL('../../../.venv/bin/python', import.meta.url));

test('the manifest is format version 3, with version-1 and -2 vectors too', () => {
  assert.equal(manifest.format_version, 3);
  const versions = manifest.vectors.filter((v) => v.blob_version).map((v) => v.blob_version);
  assert.deepEqual([...new Set(versions)].sort(), [1, 2, 3]);
});

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
    assert.equal(result.blob.formatVersion, vector.blob_version);
    assert.equal(result.blob.sourceSpace, vector.source_space);
    assert.equal(result.blob.carrierTransform, Math.min(vector.blob_version, 2)); // 1 for v1
    assert.equal(result.blob.context, vector.blob_version === 3); // layout 2 needs version 3
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
  for (const file of ['tiff_alpha_fp32_w16.tif', 'v1_tiff_alpha_fp32_w16.tif']) {
    const withAlpha = await restore(readFileSync(VECTORS + file));
    assert.equal(withAlpha.alpha.length, withAlpha.width * withAlpha.height);
  }
  const edited = readFileSync(VECTORS + 'neg_edited_pixels.png');
  await assert.rejects(restore(edited, { strict: true }), /pixels changed after encoding/);
});

test('inspect reports the blob and the digest check', async () => {
  const jpeg = await inspect(readFileSync(VECTORS + 'jpeg_q90_gated.jpg'));
  assert.equal(jpeg.carrier, 'jpeg');
  assert.equal(jpeg.gated, true);
  assert.equal(jpeg.pixel_digest_ok, true); // the JPEG digest hashes the coded scan (§4.2)
  assert.deepEqual(
    [jpeg.format_version, jpeg.source_space, jpeg.carrier_transform, jpeg.source_icc_bytes],
    [2, 'prophoto', 2, 0],
  );
  const edited = await inspect(readFileSync(VECTORS + 'neg_edited_pixels.png'));
  assert.equal(edited.pixel_digest_ok, false);
  const v1 = await inspect(readFileSync(VECTORS + 'v1_jpeg_q90_gated.jpg'));
  assert.deepEqual(
    [v1.format_version, v1.source_space, v1.carrier_transform, v1.pixel_digest_ok],
    [1, 'prophoto', 1, true], // the version-1 digest, without APP0/APP14
  );
  const icc = await inspect(readFileSync(VECTORS + 'png_source_icc.png'));
  assert.equal(icc.source_space, 'icc');
  assert.ok(icc.source_icc_bytes > 128, `${icc.source_icc_bytes} bytes of ICC`);
  const p3 = await inspect(readFileSync(VECTORS + 'png_source_p3.png'));
  assert.equal(p3.source_space, 'display-p3');
});

const noVenv = !existsSync(PYTHON) && 'no .venv';

test('inspect matches `gamut-onnx inspect --json`', { skip: noVenv }, async () => {
  const cli = fileURLToPath(new URL('../../../.venv/bin/gamut-onnx', import.meta.url));
  for (const file of ['png_source_icc.png', 'v1_jpeg_q90_gated.jpg', 'neg_jpeg_app14.jpg']) {
    const { stdout } = await promisify(execFile)(cli, ['inspect', VECTORS + file, '--json']);
    const { file: _, ...theirs } = JSON.parse(stdout);
    assert.deepEqual(await inspect(readFileSync(VECTORS + file)), theirs, file);
  }
});

test('JPEG digest (§4.2): version 2 covers APP0/APP14, version 1 does not', async () => {
  // neg_jpeg_app14 is jpeg_q90_gated with its JFIF APP0 replaced by an Adobe APP14 segment
  // (transform 0: the same coefficients decode as RGB): same scan, other colours.
  const swapped = await restore(readFileSync(VECTORS + 'neg_jpeg_app14.jpg'));
  assert.deepEqual(swapped.warnings, [
    'pixels changed after encoding (edited?): restore quality is not guaranteed',
  ]);
  assert.equal(swapped.digestOk, false);
  const original = await restore(readFileSync(VECTORS + 'jpeg_q90_gated.jpg'));
  assert.notDeepEqual(swapped.carrier.rgb, original.carrier.rgb);
  const v1 = await restore(readFileSync(VECTORS + 'v1_jpeg_q90_gated.jpg'));
  assert.equal(v1.digestOk, true);
  assert.deepEqual(v1.warnings, [
    "this model (blob format 1) cannot tell whether the JPEG's APP0/APP14 segments were changed " +
      '(they alter the decoded colours): re-encode to get the full check',
  ]);
});

test('a non-finite graph output is refused', async () => {
  const bytes = readFileSync(VECTORS + 'png_gated_fp16.png');
  const feeds = [];
  const session = {
    async run(f) {
      feeds.push(f);
      const [h, w] = f.srgb8.dims;
      return { prophoto: { data: new Float32Array(h * w * 3).fill(Number.POSITIVE_INFINITY) } };
    },
  };
  const sha256 = (parts) => new Uint8Array(createHash('sha256').update(parts[0]).digest());
  await assert.rejects(restoreWith(ort, session, bytes, { sha256 }), {
    name: 'GamutError',
    message: 'restore produced non-finite values; refusing the output',
  });
  // The feed carries the transform-2 matrix (§5 step 2) as its float32 bit patterns.
  const m = feeds[0].to_prophoto;
  assert.deepEqual(m.dims, [3, 3]);
  assert.equal(new Uint32Array(m.data.buffer, m.data.byteOffset, 9)[0], 0x3f076104);
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
  { skip: noVenv },
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

// A cross-check of lib/colour.js against the graph, with each version's matrix. Not required bit
// for bit (§5): pixels the MLP skips only need `p` within float32 rounding.
test('steps 1-2 in JS agree with the graph where a gated model does not run', async () => {
  for (const file of ['png_gated_fp16.png', 'v1_png_gated_fp16.png']) {
    const result = await restore(readFileSync(VECTORS + file));
    const { rgb } = result.carrier;
    const p = clippedProPhoto(rgb, result.blob.carrierTransform);
    let checked = 0;
    for (let i = 0; i < rgb.length; i += 3) {
      if ([0, 1, 2].some((k) => rgb[i + k] === 0 || rgb[i + k] === 255)) continue;
      for (let k = 0; k < 3; k++) {
        assert.ok(Math.abs(result.data[i + k] - p[i + k]) <= 2 ** -23, `${file} pixel ${i / 3}`);
      }
      checked++;
    }
    assert.ok(checked > 100, `only ${checked} interior pixels`);
  }
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
