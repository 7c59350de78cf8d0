// The JPEG coefficient digest and the orientation search (docs/blob-format.md §4.3, §4.4):
// the digest of the conformance vectors equals what the reference recorded, lossless transcodes
// and turns by the real jpegtran restore (skipped without it), a PNG turned pixel by pixel
// restores turned, and corrupt scan data is one GamutError, quickly.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

import { restore } from '../index.js';
import { readBlob } from '../lib/blob.js';
import { decodeJpeg, probeJpeg } from '../lib/jpeg.js';
import { digestParts, readCoefficients } from '../lib/jpegdigest.js';
import { baselineJpeg } from '../lib/jpegwrite.js';
import { turn } from '../lib/orientation.js';
import { chunk, ihdr, png } from './pngfile.js';

const VECTORS = fileURLToPath(new URL('../../../tests/conformance/vectors/', import.meta.url));
const BASE = readFileSync(VECTORS + 'jpeg_coef_baseline.jpg');
const HAS_JPEGTRAN = spawnSync('jpegtran', ['-version']).error === undefined;
const TURNS = {
  2: ['-flip', 'horizontal'],
  3: ['-rotate', '180'],
  4: ['-flip', 'vertical'],
  5: ['-transpose'],
  6: ['-rotate', '90'],
  7: ['-transverse'],
  8: ['-rotate', '270'],
};

const sha256 = (parts) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
};
const jpegtran = (bytes, ...args) => {
  const run = spawnSync('jpegtran', ['-copy', 'all', ...args], { input: bytes });
  assert.equal(run.status, 0, String(run.stderr));
  return new Uint8Array(run.stdout);
};

test('the coefficient digest is what the reference recorded (record 130)', () => {
  for (const name of ['baseline', 'progressive', 'restart', '420_progressive']) {
    const bytes = new Uint8Array(readFileSync(VECTORS + `jpeg_coef_${name}.jpg`));
    const blob = readBlob(probeJpeg(bytes).blob);
    assert.deepEqual(sha256(digestParts(readCoefficients(bytes))), blob.jpegDigest, name);
  }
});

const withJpegtran = { skip: !HAS_JPEGTRAN };

test('lossless transcodes by jpegtran restore bit-identically', withJpegtran, async () => {
  const original = await restore(BASE, { strict: true });
  for (const args of [['-progressive'], ['-restart', '1'], ['-progressive', '-restart', '2']]) {
    const result = await restore(jpegtran(BASE, ...args), { strict: true });
    assert.deepEqual(result.data, original.data, args.join(' '));
  }
});

test('jpegtran turns restore exactly, turned like the file', withJpegtran, async () => {
  const original = await restore(BASE, { strict: true });
  const fitted = { data: original.data, width: original.width, height: original.height };
  for (const [orientation, args] of Object.entries(TURNS)) {
    const result = await restore(jpegtran(BASE, '-perfect', ...args), { strict: true });
    const expected = turn(fitted, Number(orientation), 3);
    assert.deepEqual([result.width, result.height], [expected.width, expected.height]);
    // The coefficients turned back decode to the untouched carrier's very pixels.
    assert.deepEqual(result.data, expected.data, `orientation ${orientation}`);
  }
});

for (const name of ['png_gated_fp16', 'png_context_gated']) {
  test(`a PNG carrier turned by 90 degrees restores turned (${name})`, async () => {
    const source = readFileSync(VECTORS + `${name}.png`);
    const original = await restore(source, { strict: true });
    const { rgb, width, height, blob } = original.carrier;
    const turned = turn({ data: rgb, width, height }, 6, 3);
    const raw = new Uint8Array(turned.height * (turned.width * 3 + 1));
    for (let y = 0; y < turned.height; y++) {
      const row = turned.data.subarray(y * turned.width * 3, (y + 1) * turned.width * 3);
      raw.set(row, y * (turned.width * 3 + 1) + 1); // filter type 0
    }
    const file = png(
      ihdr(turned.width, turned.height),
      chunk('gmLP', blob),
      chunk('IDAT', deflateSync(raw)),
      chunk('IEND'),
    );
    const result = await restore(file, { strict: true });
    const expected = turn({ data: original.data, width, height }, 6, 3);
    assert.deepEqual([result.width, result.height], [height, width]);
    assert.deepEqual(result.data, expected.data);
  });
}

test('coefficients written back decode to the same pixels (4:2:0, partial MCUs)', async () => {
  const bytes = new Uint8Array(readFileSync(VECTORS + 'jpeg_coef_420_progressive.jpg'));
  const coefficients = readCoefficients(bytes);
  const written = baselineJpeg(coefficients);
  const { width, height } = coefficients.frame;
  const digest = (c) => sha256(digestParts(c));
  assert.deepEqual(digest(readCoefficients(written)), digest(coefficients)); // ids, tables kept
  assert.deepEqual(
    await decodeJpeg({ bytes: written, width, height }),
    await decodeJpeg({ bytes, width, height }),
  );
});

test('corrupt scan data is one GamutError, never a hang', () => {
  let seed = 7;
  const random = (n) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (const name of ['progressive', 'restart', '420_progressive']) {
    const bytes = new Uint8Array(readFileSync(VECTORS + `jpeg_coef_${name}.jpg`));
    for (let i = 0; i < 150; i++) {
      const broken = bytes.slice(0, i % 3 ? bytes.length : random(bytes.length));
      for (let k = 0; k < 4; k++) broken[random(broken.length)] = random(256);
      try {
        readCoefficients(broken);
      } catch (err) {
        assert.equal(err.name, 'GamutError', err.stack);
        assert.ok(!err.message.includes('\n'));
      }
    }
  }
});
