// The gamut-onnx-restore CLI: output TIFF against the vectors' ProPhoto codes and, when the repo's
// Python venv is there, against the TIFF written by `gamut-onnx decode` for the same carrier.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import UTIF from 'utif2';

import { encodeRestoredTiff, PROPHOTO_ICC, restore, restoreTiff } from '../index.js';
import { crc32 } from '../lib/crc32.js';
import { readNpy } from './npy.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const VECTORS = join(REPO, 'tests/conformance/vectors');
const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
const PYTHON = join(REPO, '.venv/bin/python');
const GAMUT_ONNX = join(REPO, '.venv/bin/gamut-onnx');
const noVenv = existsSync(GAMUT_ONNX) ? false : 'no .venv/bin/gamut-onnx (run `make setup`)';
const POSITIVE = [
  'png_ungated_fp16.png',
  'png_gated_fp16.png',
  'tiff_alpha_fp32_w16.tif',
  'jpeg_q90_gated.jpg',
  'png_source_p3.png', // the photo was Display P3: this CLI still writes ProPhoto
  'v1_png_gated_fp16.png',
  'v1_tiff_alpha_fp32_w16.tif',
];

const work = mkdtempSync(join(tmpdir(), 'gamut-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** CLI run that resolves with {code, stdout, stderr} instead of throwing on a non-zero exit. */
async function cli(...args) {
  try {
    return { code: 0, ...(await run(process.execPath, [CLI, ...args])) };
  } catch (err) {
    if (typeof err.code !== 'number') throw err;
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** 16-bit samples and tags of a TIFF, read with utif2 (an independent reader). */
function readTiff16(path) {
  const bytes = readFileSync(path);
  const [ifd] = UTIF.decode(bytes);
  UTIF.decodeImage(bytes, ifd);
  const samples = new Uint16Array(ifd.data.buffer, ifd.data.byteOffset, ifd.data.length / 2);
  return { ifd, samples, spp: ifd.t277[0] };
}

test("output TIFF: 16-bit ROMM ProPhoto with the ICC profile, the vectors' codes", async () => {
  for (const file of POSITIVE) {
    const out = join(work, `${file}.tif`);
    const { code, stderr } = await cli(join(VECTORS, file), out);
    assert.equal(code, 0, stderr);
    const { ifd, samples, spp } = readTiff16(out);
    assert.deepEqual(Buffer.from(ifd.t34675), Buffer.from(PROPHOTO_ICC));
    const codes = file.replace(/\.\w+$/, '.prophoto.npy'); // output.onnx's, from Python
    const expected = readNpy(readFileSync(join(VECTORS, codes))).data;
    let worst = 0;
    for (let i = 0; i < expected.length; i++) {
      const got = samples[Math.floor(i / 3) * spp + (i % 3)];
      worst = Math.max(worst, Math.abs(got - expected[i]));
    }
    assert.ok(worst <= 1, `${file}: ${worst} code values off`);
    assert.equal(spp, file.includes('alpha') ? 4 : 3);
  }
});

test('encodeRestoredTiff(restore()) writes the bytes of the streaming restoreTiff()', async () => {
  for (const file of ['tiff_alpha_fp32_w16.tif', 'png_residual_map.png']) {
    const bytes = readFileSync(join(VECTORS, file));
    const streamed = await restoreTiff(bytes, { tile: 16 });
    assert.deepEqual(await encodeRestoredTiff(await restore(bytes)), streamed.tiff, file);
  }
});

test('same TIFF as `gamut-onnx decode`, within 1 code value', { skip: noVenv }, async (t) => {
  const pairs = [];
  for (const file of POSITIVE) {
    const ours = join(work, `node-${file}.tif`);
    const theirs = join(work, `python-${file}.tif`);
    assert.equal((await cli(join(VECTORS, file), ours)).code, 0);
    // --space prophoto: the Python CLI writes the photo's own space by default.
    await run(GAMUT_ONNX, ['decode', join(VECTORS, file), '-o', theirs, '--space', 'prophoto']);
    pairs.push([ours, theirs]);
  }
  // tifffile compares pixels, the ICC profile and the sample format; not the layout (Python
  // writes 256 x 256 tiles, we write strips) nor the compressed bytes.
  const script = `
import json, sys, tifffile
out = []
for a, b in json.loads(sys.argv[1]):
    pa, pb = tifffile.TiffFile(a).pages[0], tifffile.TiffFile(b).pages[0]
    x, y = pa.asarray().astype(int), pb.asarray().astype(int)
    fmt = lambda p: (p.photometric, p.bitspersample, p.samplesperpixel, p.extrasamples)
    same_format = x.shape == y.shape and fmt(pa) == fmt(pb)
    same_icc = pa.tags[34675].value == pb.tags[34675].value
    worst = int(abs(x - y).max()) if x.shape == y.shape else -1
    out.append([worst, int((x != y).sum()) if worst >= 0 else -1, x.size, same_format, same_icc])
print(json.dumps(out))`;
  const { stdout } = await run(PYTHON, ['-c', script, JSON.stringify(pairs)]);
  JSON.parse(stdout).forEach(([worst, differing, size, sameFormat, sameIcc], k) => {
    t.diagnostic(`${POSITIVE[k]}: ${differing}/${size} samples differ, by at most ${worst}`);
    assert.ok(worst >= 0 && worst <= 1, `${POSITIVE[k]}: ${worst} code values off`);
    assert.ok(sameFormat, `${POSITIVE[k]}: photometric, bits, samples or size differ`);
    assert.ok(sameIcc, `${POSITIVE[k]}: ICC profiles differ`);
  });
});

test('prophoto.icc holds the bytes of gamut_onnx.colour.icc.PROPHOTO_ICC', { skip: noVenv }, async () => {
  const code =
    'import sys; from gamut_onnx.colour.icc import PROPHOTO_ICC; sys.stdout.write(PROPHOTO_ICC.hex())';
  const { stdout } = await run(PYTHON, ['-c', code]);
  assert.equal(Buffer.from(PROPHOTO_ICC).toString('hex'), stdout);
});

test('bad input: one line on stderr, exit 1, no output file', async () => {
  const junk = join(work, 'junk.png');
  writeFileSync(junk, 'not an image');
  const cases = [
    [join(VECTORS, 'neg_bad_crc.png'), 'error: invalid weight blob: CRC32 mismatch', '--strict'],
    [join(VECTORS, 'neg_unknown_version.png'), 'error: invalid weight blob: format version 4', '--strict'],
    [junk, 'error: not a PNG, TIFF or JPEG carrier'],
    [join(work, 'missing.png'), 'error: cannot read'],
  ];
  for (const [input, message, ...flags] of cases) {
    const out = join(work, 'bad.tif');
    const { code, stderr } = await cli(input, out, ...flags);
    assert.equal(code, 1);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.ok(stderr.startsWith(message), stderr);
    assert.ok(!existsSync(out));
  }
  const unwritable = await cli(join(VECTORS, 'png_gated_fp16.png'), join(work, 'no/such/dir.tif'));
  assert.equal(unwritable.code, 1);
  assert.match(unwritable.stderr, /^error: cannot write/);
  assert.deepEqual(
    readdirSync(work).filter((f) => f.endsWith('.tmp')),
    [],
  );
});

test('warnings go to stderr and the file is still written; usage errors exit 2', async () => {
  const out = join(work, 'edited.tif');
  const edited = await cli(join(VECTORS, 'neg_edited_pixels.png'), out);
  assert.equal(edited.code, 0);
  assert.match(edited.stderr, /^warning: pixels changed after encoding/);
  assert.ok(existsSync(out));
  const strict = await cli(join(VECTORS, 'neg_edited_pixels.png'), join(work, 's.tif'), '--strict');
  assert.equal(strict.code, 1);
  assert.equal((await cli('only-one-argument.png')).code, 2);
});

test('a damaged model is not a damaged photo: plain sRGB and one warning, unless --strict', async () => {
  for (const [file, reason] of [
    ['neg_bad_crc.png', 'invalid weight blob: CRC32 mismatch'],
    ['neg_unknown_version.png', 'invalid weight blob: format version 4'],
  ]) {
    const out = join(work, `${file}.tif`);
    const { code, stdout, stderr } = await cli(join(VECTORS, file), out);
    assert.equal(code, 0, stderr);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.ok(stderr.startsWith(`warning: damaged gamut-onnx model ignored (${reason}`), stderr);
    assert.match(stdout, /expanded \(damaged model ignored\)/);
    assert.ok(existsSync(out));
  }
});

/** A sidecar file (docs/blob-format.md, "Sidecar file") around a blob. */
function sidecarOf(blob) {
  const head = Buffer.alloc(20);
  head.write('GAMUTSID', 0, 'latin1');
  head.writeUInt16LE(1, 8);
  head.writeUInt32LE(blob.length, 12);
  const body = Buffer.concat([head, blob]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32(body));
  return Buffer.concat([body, crc]);
}

test('a file without a model restores from its sidecar FILE.gamut; a damaged one falls back', async () => {
  const carrier = readFileSync(join(VECTORS, 'png_gated_fp16.png'));
  const at = carrier.indexOf('gmLP') - 4;
  const length = carrier.readUInt32BE(at);
  const blob = carrier.subarray(at + 8, at + 8 + length);
  const plain = join(work, 'stripped.png');
  writeFileSync(plain, Buffer.concat([carrier.subarray(0, at), carrier.subarray(at + 12 + length)]));
  const without = await cli(plain, join(work, 'stripped0.tif'));
  assert.match(without.stderr, /no gamut-onnx model in this file/);
  writeFileSync(`${plain}.gamut`, sidecarOf(blob));
  const restored = await cli(plain, join(work, 'stripped1.tif'), '--strict');
  assert.equal(restored.code, 0, restored.stderr);
  assert.match(restored.stdout, /restored from its sidecar/);
  const reference = await cli(join(VECTORS, 'png_gated_fp16.png'), join(work, 'direct.tif'));
  assert.equal(reference.code, 0);
  assert.deepEqual(readTiff16(join(work, 'stripped1.tif')).samples, readTiff16(join(work, 'direct.tif')).samples);
  const damaged = sidecarOf(blob);
  damaged[30] ^= 1;
  writeFileSync(`${plain}.gamut`, damaged);
  const fallback = await cli(plain, join(work, 'stripped2.tif'));
  assert.equal(fallback.code, 0);
  assert.match(fallback.stderr, /^warning: damaged gamut-onnx model ignored \(.*sidecar CRC32 mismatch/);
  const strict = await cli(plain, join(work, 'stripped3.tif'), '--strict');
  assert.equal(strict.code, 1);
  assert.match(strict.stderr, /^error: sidecar CRC32 mismatch/);
});
