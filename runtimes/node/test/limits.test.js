// The pixel limit (option, GAMUT_ONNX_MAX_PIXELS, --max-pixels), JPEG header checks, one-line
// messages from file bytes, and the JPEG decoder's recovery after a libjpeg error.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { DEFAULT_MAX_PIXELS, inspect, restore } from '../index.js';
import { few, maxPixelsFrom, oneLine, repr } from '../lib/limits.js';

const VECTORS = new URL('../../../tests/conformance/vectors/', import.meta.url);
const JPEG = new Uint8Array(readFileSync(new URL('jpeg_q90_gated.jpg', VECTORS)));
const PNG = readFileSync(new URL('png_gated_fp16.png', VECTORS)); // 48 x 32 = 1536 pixels

/** Offset of the first segment with `marker` (its 0xFF byte). */
function segmentAt(bytes, marker) {
  for (let pos = 2; pos + 4 <= bytes.length;) {
    if (bytes[pos + 1] === marker) return pos;
    pos += 2 + ((bytes[pos + 2] << 8) | bytes[pos + 3]);
  }
  throw new Error(`no segment 0x${marker.toString(16)}`);
}

test('the limit: 250 MP by default, GAMUT_ONNX_MAX_PIXELS, then the maxPixels option', async () => {
  assert.equal(DEFAULT_MAX_PIXELS, 250_000_000);
  assert.equal(maxPixelsFrom(undefined), DEFAULT_MAX_PIXELS);
  assert.equal(maxPixelsFrom(''), DEFAULT_MAX_PIXELS);
  assert.equal(maxPixelsFrom('1536'), 1536);
  for (const bad of ['0', 'abc', '-5', '1e9', ' 12']) {
    assert.throws(() => maxPixelsFrom(bad), {
      name: 'GamutError',
      message: `GAMUT_ONNX_MAX_PIXELS=${repr(bad)} is not a positive whole number of pixels`,
    });
  }
  process.env.GAMUT_ONNX_MAX_PIXELS = '1535';
  try {
    const over = /^GamutError: PNG: 48x32 is 1,536 pixels, above the limit of 1,535 \(raise it/;
    await assert.rejects(restore(PNG), over);
    await assert.rejects(inspect(PNG), over);
    assert.equal((await restore(PNG, { maxPixels: 1536 })).width, 48);
    process.env.GAMUT_ONNX_MAX_PIXELS = 'lots';
    await assert.rejects(restore(PNG), /GAMUT_ONNX_MAX_PIXELS='lots' is not a positive whole/);
  } finally {
    delete process.env.GAMUT_ONNX_MAX_PIXELS;
  }
  await assert.rejects(restore(PNG, { maxPixels: 0 }), /maxPixels must be a positive whole number/);
});

test('CLI: --max-pixels N refuses larger images with exit 1 and one line', async () => {
  const work = mkdtempSync(join(tmpdir(), 'gamut-limit-'));
  try {
    const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
    const input = fileURLToPath(new URL('png_gated_fp16.png', VECTORS));
    const err = await promisify(execFile)(process.execPath, [
      cli, input, join(work, 'out.tif'), '--max-pixels', '1000',
    ]).catch((e) => e); // prettier-ignore
    assert.equal(err.code, 1);
    assert.match(err.stderr, /^error: PNG: 48x32 is 1,536 pixels, above the limit of 1,000 .*\n$/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('JPEG: the frame header size is checked before decoding (65535 x 65535, empty)', async () => {
  const sof = segmentAt(JPEG, 0xc0);
  const sized = (w, h) => {
    const out = JPEG.slice();
    new DataView(out.buffer).setUint16(sof + 5, h);
    new DataView(out.buffer).setUint16(sof + 7, w);
    return out;
  };
  const started = performance.now();
  await assert.rejects(restore(sized(65535, 65535)), {
    message:
      'JPEG: 65535x65535 is 4,294,836,225 pixels, above the limit of 250,000,000 ' +
      '(raise it with maxPixels or GAMUT_ONNX_MAX_PIXELS)',
  });
  assert.ok(performance.now() - started < 1000);
  await assert.rejects(restore(sized(0, 32)), { message: 'JPEG frame header says 0x32 pixels' });
  await assert.rejects(restore(sized(48, 0)), { message: 'JPEG frame header says 48x0 pixels' });
});

test('JPEG: missing APP9 chunks are summarised on one short line', async () => {
  const app9 = segmentAt(JPEG, 0xe9);
  const withCount = (count, extraSeqs = []) => {
    const out = JPEG.slice();
    out[app9 + 4 + 12] = count; // after FF E9, the length and 'GAMUT-ONNX\0': seq, count
    const length = (out[app9 + 2] << 8) | out[app9 + 3];
    const copies = extraSeqs.map((seq) => {
      const copy = out.slice(app9, app9 + 2 + length);
      copy[4 + 11] = seq;
      return copy;
    });
    return Buffer.concat([out.subarray(0, app9), ...copies, out.subarray(app9)]);
  };
  const message = 'JPEG blob (APP9 GAMUT-ONNX) is missing chunks 2, 3, 4, 5, 6, 7, 8, 9, ... 246 more of 255';
  await assert.rejects(restore(withCount(255)), { message });
  const odd = Array.from({ length: 40 }, (_, i) => 2 * i + 3); // chunks 1, 3, 5, ..., 81
  const gaps = await restore(withCount(255, odd)).catch((e) => e);
  const said = 'JPEG blob (APP9 GAMUT-ONNX) is missing chunks 2, 4, 6, 8, 10, 12, 14, 16, ... 206 more of 255';
  assert.equal(gaps.message, said); // the reference reader's words
  assert.ok(gaps.message.length < 150, gaps.message);
});

test('JPEG: a libjpeg error does not poison later decodes', async () => {
  // A frame component id the scan does not name: libjpeg's error_exit, i.e. exit(1) in the
  // WebAssembly build, which leaks what the decode had allocated. On one instance, about 70
  // such failures in a row broke it ("null function"), then decodes hung: so this runs in a
  // child process with a timeout.
  const broken = JPEG.slice();
  broken[segmentAt(broken, 0xc0) + 10] = 99;
  const index = fileURLToPath(new URL('../index.js', import.meta.url));
  const script = `
    import { restore } from ${JSON.stringify(index)};
    const [broken, good] = ${JSON.stringify([Array.from(broken), Array.from(JPEG)])}
      .map((a) => Uint8Array.from(a));
    for (let i = 0; i < 150; i++) {
      const message = await restore(broken).then(() => 'resolved', (e) => e.message);
      if (!message.startsWith('cannot read JPEG: file is truncated')) throw new Error(message);
    }
    const { width, height, warnings } = await restore(good);
    console.log(JSON.stringify([width, height, warnings]));`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', script],
    { timeout: 60_000, maxBuffer: 1 << 20 },
  );
  assert.deepEqual(JSON.parse(stdout), [48, 32, []]);
});

test('message helpers: repr escapes like Python, oneLine cuts, few summarise', () => {
  assert.equal(repr(Uint8Array.from([0x61, 0x0c, 0x27, 0x5c, 0xff])), "'a\\x0c\\'\\\\\\xff'");
  assert.equal(repr('x'.repeat(50), 10), `'${'x'.repeat(10)}...'`);
  assert.equal(oneLine('first\nsecond'), 'first');
  assert.equal(oneLine('caf\u00e9 \u2028b\x0bc'), 'caf\\xe9 \\u2028b\\x0bc');
  assert.equal(oneLine('y'.repeat(500)).length, 163);
  assert.equal(few([2, 3, 4, 7]), '2, 3, 4, 7');
  assert.equal(few(Array.from({ length: 200 }, (_, i) => 2 * i)), '0, 2, 4, 6, 8, 10, 12, 14, ... 192 more');
});
