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

import { encode, inspect, openSessions, restore } from '../index.js';
import { crc32 } from '../lib/crc32.js';
import {
  GRID_NAMES,
  openRestore,
  plainFeeds,
  restoreImage,
  restorePixels,
  restoreWith,
} from '../lib/restore.js';
import { maxAbsError, readNpy } from './npy.js';

const VECTORS = fileURLToPath(new URL('../../../tests/conformance/vectors/', import.meta.url));
const manifest = JSON.parse(readFileSync(VECTORS + 'manifest.json', 'utf8'));
const PYTHON = fileURLToPath(new URL('../../../.venv/bin/python', import.meta.url));

test('the manifest is format version 3, with version-1 and -2 vectors too', () => {
  assert.equal(manifest.format_version, 3);
  const versions = manifest.vectors.filter((v) => v.blob_version).map((v) => v.blob_version);
  assert.deepEqual([...new Set(versions)].sort(), [1, 2, 3]);
});

/** restore() with every feed of restore.onnx recorded (the real session runs them). */
async function restoreRecorded(bytes, options = {}) {
  const sessions = await openSessions();
  const runs = [];
  const restore_ = {
    run(feeds, fetches) {
      runs.push(feeds);
      return sessions.restore.run(feeds, fetches);
    },
  };
  const result = await restore(bytes, { ...options, sessions: { ...sessions, restore: restore_ } });
  return { result, runs };
}

/** The per-tile `map_samples` feeds put back together into one H*W*3 array. */
function fedSamples(runs, width, height) {
  const out = new Uint8Array(width * height * 3);
  for (const feeds of runs) {
    const [top, left] = Array.from(feeds.origin.data, Number);
    const [rows, cols] = feeds.map_samples.dims;
    for (let y = 0; y < rows; y++) {
      const row = feeds.map_samples.data.subarray(y * cols * 3, (y + 1) * cols * 3);
      out.set(row, ((top + y) * width + left) * 3);
    }
  }
  return out;
}

const npy = (file) => readNpy(readFileSync(VECTORS + file));
const sha256 = (parts) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
};
const openRestoreOf = async (bytes) => openRestore(ort, await openSessions(), bytes, { sha256 });

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
    const { result, runs } = await restoreRecorded(bytes);
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
    // The intermediate tensors (§6.4), as fed to restore.onnx: grids exact, map exact.
    const fed = runs[0];
    assert.equal(fed.carrier_transform.data[0], BigInt(result.blob.carrierTransform));
    assert.deepEqual(fed.w1.dims, result.blob.shapes.w1); // as stored, no padding
    for (const name of GRID_NAMES) {
      if (!vector.grids) {
        assert.deepEqual(fed[name].dims, [4, 1, 1]);
        continue;
      }
      const grid = npy(vector.grids[name]);
      assert.deepEqual(fed[name].dims, grid.shape, name);
      assert.deepEqual(fed[name].data, grid.data, `${name} differs`);
    }
    assert.deepEqual(
      Array.from(fed.map_params.data),
      (vector.map_params ?? [0, 0]).map(Math.fround),
    );
    assert.equal(result.residualMap, !!vector.map_samples);
    if (vector.map_samples) {
      const samples = npy(vector.map_samples);
      assert.deepEqual(samples.shape, [result.height, result.width, 3]);
      assert.deepEqual(fedSamples(runs, result.width, result.height), samples.data);
    } else {
      assert.deepEqual(fed.map_samples.dims, [1, 1, 3]);
    }
    const expected = npy(vector.output);
    assert.deepEqual(expected.shape, [result.height, result.width, 3]);
    const error = maxAbsError(result.data, expected.data);
    t.diagnostic(`max abs error ${error.toExponential(2)} (allowed ${vector.max_abs_error})`);
    assert.ok(error <= vector.max_abs_error, `max abs error ${error}`);
    // 16-bit codes through output.onnx from our own restore.
    for (const [space, file] of Object.entries(vector.codes16)) {
      const codes = npy(file);
      assert.deepEqual(codes.shape, [result.height, result.width, 3]);
      const worst = maxAbsError(await encode(result, space), codes.data);
      t.diagnostic(`${space}: codes off by at most ${worst} (allowed ${vector.codes_max_error})`);
      assert.ok(worst <= vector.codes_max_error, `${space}: ${worst} codes off`);
    }
  });
}

// Tiling changes which pixels share an onnxruntime run. onnxruntime's CPU Sin computes the
// elements of a vectorised body and of a scalar tail differently (up to an ulp), so where the
// number of gated pixels in a run varies a result may move by an ulp or so; an ungated model
// runs whole tiles and stays bit for bit.
test('tiling does not change the result (16-pixel tiles, 7-row bands)', async () => {
  const sessions = await openSessions();
  for (const [file, allowed] of [
    ['png_ungated_fp16.png', 0],
    ['png_residual_map.png', 1e-7],
    ['png_context_gated.png', 1e-7],
    ['jpeg_residual_map.jpg', 1e-7],
  ]) {
    const bytes = readFileSync(VECTORS + file);
    const whole = await restore(bytes);
    const tiled = await restoreRecorded(bytes, { tile: 16 });
    assert.ok(tiled.runs.length > 4, `${file}: ${tiled.runs.length} tiles`);
    const { image, warnings } = await openRestoreOf(bytes);
    assert.deepEqual(warnings, whole.warnings); // the map decoded here too
    const banded = await restorePixels(ort, sessions.restore, image, { rows: 7 });
    for (const data of [tiled.result.data, banded]) {
      const error = maxAbsError(data, whole.data);
      assert.ok(error <= allowed, `${file}: tiling moved a value by ${error}`);
    }
  }
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
  const files = ['png_source_icc.png', 'v1_jpeg_q90_gated.jpg', 'neg_jpeg_app14.jpg'];
  files.push('jpeg_coef_progressive.jpg', 'jpeg_coef_rotate90.jpg');
  files.push('neg_png_blob_chunk_crc.png', 'neg_png_both_blob_names.png'); // model_damage
  for (const file of files) {
    const { stdout } = await promisify(execFile)(cli, ['inspect', VECTORS + file, '--json']);
    const { file: _, ...theirs } = JSON.parse(stdout);
    assert.deepEqual(await inspect(readFileSync(VECTORS + file)), theirs, file);
  }
  // An invalid blob in a readable container is an error in both.
  const broken = VECTORS + 'neg_bad_crc.png';
  const python = await promisify(execFile)(cli, ['inspect', broken]).catch((err) => err);
  assert.equal(python.code, 1);
  await assert.rejects(inspect(readFileSync(broken)), /CRC32 mismatch/);
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

test("a non-finite graph output is refused, from the graph's residual_sum", async () => {
  const bytes = readFileSync(VECTORS + 'png_gated_fp16.png');
  const feeds = [];
  const session = {
    async run(f) {
      feeds.push(f);
      const [h, w] = f.srgb8.dims;
      return {
        prophoto: { data: new Float32Array(h * w * 3) }, // finite: only the sum is checked
        residual_sum: { data: Float32Array.of(Number.NaN) },
      };
    },
  };
  await restore(bytes); // the decoders are ready
  const sessions = await openSessions();
  await assert.rejects(restoreWith(ort, { ...sessions, restore: session }, bytes, { sha256 }), {
    name: 'GamutError',
    message: 'restore produced non-finite values; refusing the output',
  });
  // The feeds of §6.1: the blob's w1 as stored, carrier_transform an int64 scalar.
  const fed = feeds[0];
  assert.deepEqual(fed.w1.dims, [120, 32]);
  assert.deepEqual([fed.carrier_transform.type, fed.carrier_transform.dims], ['int64', []]);
  assert.equal(fed.carrier_transform.data[0], 2n);
  assert.deepEqual(Array.from(fed.edges.data), [0, 255]); // gated, margin 0
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

test('where a gated model does not run, the restore is the plain expansion', async () => {
  const sessions = await openSessions();
  for (const file of ['png_gated_fp16.png', 'v1_png_gated_fp16.png']) {
    const result = await restore(readFileSync(VECTORS + file));
    const { rgb } = result.carrier;
    const image = restoreImage(ort, result.carrier, plainFeeds(ort, result.blob.carrierTransform));
    const p = await restorePixels(ort, sessions.restore, image);
    let checked = 0;
    for (let i = 0; i < rgb.length; i += 3) {
      if ([0, 1, 2].some((k) => rgb[i + k] === 0 || rgb[i + k] === 255)) continue;
      for (let k = 0; k < 3; k++) assert.equal(result.data[i + k], p[i + k], `${file} ${i / 3}`);
      checked++;
    }
    assert.ok(checked > 100, `only ${checked} interior pixels`);
  }
});

test('a file without a model goes through restore.onnx with the no-model feeds', async () => {
  const { rgb, width, height } = (await restore(readFileSync(VECTORS + 'png_gated_fp16.png')))
    .carrier;
  const plain = encodePng({ width, height, data: rgb, channels: 3, depth: 8 });
  const { result, runs } = await restoreRecorded(plain);
  assert.deepEqual(result.warnings, [
    'no gamut-onnx model in this file: decoding as plain sRGB (clip-and-expand)',
  ]);
  const fed = runs[0];
  assert.deepEqual(Array.from(fed.edges.data), [-1, 256]);
  assert.equal(fed.carrier_transform.data[0], 2n);
  const shapes = ['w1', 'b1', 'w2', 'b2', 'w3', 'b3'].map((name) => fed[name].dims);
  assert.deepEqual(shapes, [[10, 16], [16], [16, 16], [16], [16, 3], [3]]);
  assert.ok(['w1', 'b1', 'w2', 'b2', 'w3', 'b3'].every((n) => fed[n].data.every((v) => v === 0)));
  // Clipped sRGB: every channel in [0, 1], and the interior pixels of the gated vector's restore.
  const gated = await restore(readFileSync(VECTORS + 'png_gated_fp16.png'));
  for (let i = 0; i < rgb.length; i += 3) {
    if ([0, 1, 2].some((k) => rgb[i + k] === 0 || rgb[i + k] === 255)) continue;
    for (let k = 0; k < 3; k++) assert.equal(result.data[i + k], gated.data[i + k]);
  }
  assert.ok(result.data.every((v) => v >= 0 && v <= 1));
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
