// The PNG reader (lib/png.js) on files built here: row filters and Adam7 decode to the pixels
// written, and what the fuzzer found is refused with one clear line: oversized, empty and
// second headers, short, long or corrupt image data, metadata bombs, control characters.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { deflateSync } from 'node:zlib';

import { restore } from '../index.js';
import { readCarrier } from '../lib/carrier.js';
import { buildPng, chunk, ihdr, png } from './pngfile.js';

const VECTORS = new URL('../../../tests/conformance/vectors/', import.meta.url);
test('PNG: the five row filters and Adam7 (RGB, RGBA, odd sizes) decode exactly', async () => {
  for (const [w, h] of [
    [1, 1],
    [1, 9],
    [13, 11],
    [9, 2],
    [33, 17],
  ]) {
    for (const channels of [3, 4]) {
      for (const interlace of [0, 1]) {
        const { file, pixels } = buildPng(w, h, { channels, interlace });
        const carrier = await readCarrier(file);
        assert.deepEqual([carrier.width, carrier.height], [w, h]);
        const rgb = new Uint8Array(w * h * 3);
        for (let i = 0; i < w * h; i++)
          rgb.set(pixels.subarray(i * channels, i * channels + 3), 3 * i);
        assert.deepEqual(
          carrier.rgb,
          rgb,
          `${w}x${h}, ${channels} channels, interlace ${interlace}`,
        );
        if (channels === 4) {
          assert.deepEqual(
            carrier.alpha,
            pixels.filter((_, i) => i % 4 === 3),
          );
        }
      }
    }
  }
});

test('PNG: an image over the pixel limit is refused from its header, fast and small', async () => {
  // 16000 x 16000 of zeros: a 760 KB file that would inflate to 768 MB.
  const zeros = deflateSync(Buffer.alloc(16000 * (1 + 3 * 16000)));
  const bomb = png(ihdr(16000, 16000), chunk('IDAT', zeros), chunk('IEND'));
  const started = performance.now();
  await assert.rejects(readCarrier(bomb), {
    name: 'GamutError',
    message:
      'PNG: 16000x16000 is 256,000,000 pixels, above the limit of 250,000,000 ' +
      '(raise it with maxPixels or GAMUT_ONNX_MAX_PIXELS)',
  });
  assert.ok(performance.now() - started < 1000);
  // The limit is an option; a small image over a lowered limit is refused the same way.
  const { file } = buildPng(10, 10);
  await assert.rejects(
    readCarrier(file, { maxPixels: 99 }),
    /10x10 is 100 pixels, above the limit of 99 /,
  );
  assert.equal((await readCarrier(file, { maxPixels: 100 })).width, 10);
});

test('PNG: a second IHDR is refused (decoders read the last, size checks the first)', async () => {
  const { file } = buildPng(8, 8);
  const second = Buffer.concat([file.subarray(0, 33), ihdr(16000, 16000), file.subarray(33)]);
  await assert.rejects(readCarrier(second), {
    message: 'PNG has a second IHDR chunk (file corrupt or crafted)',
  });
});

test('PNG: width or height 0 is refused as empty', async () => {
  for (const [w, h] of [
    [8, 0],
    [0, 8],
  ]) {
    const file = png(ihdr(w, h), chunk('IDAT', deflateSync(Buffer.alloc(0))), chunk('IEND'));
    await assert.rejects(readCarrier(file), { message: `PNG is empty (${w}x${h} pixels)` });
  }
});

test('PNG: short, long or corrupt image data is refused, never zero-filled', async () => {
  const { raw } = buildPng(8, 8);
  const make = (idat) => png(ihdr(8, 8), chunk('IDAT', idat), chunk('IEND'));
  // Too few bytes (a valid stream of 7 rows), too many (9 rows).
  await assert.rejects(readCarrier(make(deflateSync(raw.subarray(0, 7 * 25)))), {
    message: 'PNG image data is truncated (175 of 200 bytes)',
  });
  await assert.rejects(readCarrier(make(deflateSync(Buffer.concat([raw, raw.subarray(0, 25)])))), {
    message: 'PNG image data is longer than its header says',
  });
  // A bad Adler-32, a stream cut short, a bad filter type.
  const stream = deflateSync(raw);
  const badAdler = Buffer.from(stream);
  badAdler[badAdler.length - 1] ^= 1;
  await assert.rejects(
    readCarrier(make(badAdler)),
    /^GamutError: PNG image data is corrupt \(incorrect data check\)$/,
  );
  await assert.rejects(
    readCarrier(make(stream.subarray(0, stream.length - 6))),
    /PNG image data is truncated/,
  );
  const badFilter = Buffer.from(raw);
  badFilter[25] = 7;
  await assert.rejects(readCarrier(make(deflateSync(badFilter))), {
    message: 'PNG image data is corrupt (filter type 7 in row 1)',
  });
  // Several IDAT chunks form one stream.
  const [a, b] = [stream.subarray(0, 10), stream.subarray(10)];
  const split = png(ihdr(8, 8), chunk('IDAT', a), chunk('IDAT', b), chunk('IEND'));
  assert.equal((await readCarrier(split)).rgb.length, 192);
});

test('PNG: metadata is bounded: iCCP to 4 MB inflated, ancillary chunks to 16 MB', async () => {
  const iccp = (profile) => chunk('iCCP', Buffer.concat([Buffer.from('icc\0\0'), profile]));
  const good = buildPng(4, 4, { before: [iccp(deflateSync(Buffer.alloc(3000, 7)))] });
  assert.equal((await readCarrier(good.file)).width, 4);
  const started = performance.now();
  const bomb = buildPng(4, 4, { before: [iccp(deflateSync(Buffer.alloc(64 << 20)))] });
  await assert.rejects(readCarrier(bomb.file), { message: 'PNG iCCP chunk inflates past 4 MB' });
  assert.ok(performance.now() - started < 1000);
  const corrupt = buildPng(4, 4, { before: [iccp(Buffer.from('not zlib'))] });
  await assert.rejects(readCarrier(corrupt.file), /^GamutError: PNG iCCP chunk is corrupt \(/);
  const text = Buffer.alloc(6 << 20, 0x41);
  const many = buildPng(4, 4, { before: [0, 1, 2].map(() => chunk('tEXt', text)) });
  await assert.rejects(readCarrier(many.file), {
    message: 'PNG holds more than 16 MB of metadata',
  });
});

test('PNG: chunk types from the file are escaped in messages', async () => {
  const { file } = buildPng(4, 4);
  const odd = chunk(Uint8Array.from([0x61, 0x62, 0x0c, 0x64]), Buffer.from('x'));
  odd[odd.length - 1] ^= 0xff; // a bad CRC
  const bad = Buffer.concat([file.subarray(0, 33), odd, file.subarray(33)]);
  await assert.rejects(readCarrier(bad), {
    message: "PNG chunk 'ab\\x0cd' has a bad CRC (the file is corrupted)",
  });
});

test('PNG: the vectors restore through restore() as before', async () => {
  const result = await restore(readFileSync(new URL('png_gated_fp16.png', VECTORS)));
  assert.deepEqual([result.width, result.height, result.warnings], [48, 32, []]);
});

test('PNG: the residual map (gmRM, §9) is read as it is; a second one or a bad CRC loses it', async () => {
  const raw = Buffer.alloc(4 * (1 + 4 * 3)); // 4x4 RGB, filter 0, black
  const make = (...extra) =>
    png(ihdr(4, 4), ...extra, chunk('IDAT', deflateSync(raw)), chunk('IEND'));
  const plain = await readCarrier(make());
  assert.equal(plain.residualMap, null);
  const payload = Buffer.from('GMRM and the rest');
  const mapped = await readCarrier(make(chunk('gmRM', payload)));
  assert.deepEqual(Buffer.from(mapped.residualMap), payload);
  assert.deepEqual(mapped.rgb, plain.rgb);
  const twice = await readCarrier(make(chunk('gmRM', payload), chunk('gmRM', payload)));
  assert.equal(twice.residualMap, null);
  assert.deepEqual(twice.notes, [
    'residual map ignored: PNG holds 2 gmRM chunks; a carrier has at most one',
  ]);
  const damaged = make(chunk('gmRM', payload));
  damaged[damaged.indexOf('gmRM') + 4] ^= 1; // the payload, so the CRC fails
  const bad = await readCarrier(damaged);
  assert.equal(bad.residualMap, null);
  assert.deepEqual(bad.notes, ['residual map ignored: PNG chunk gmRM has a bad CRC']);
  assert.deepEqual(bad.rgb, plain.rgb);
  // A damaged model chunk loses the model (the decoder's verdict), never the pixels.
  const blobDamaged = make(chunk('gmLP', payload));
  blobDamaged[blobDamaged.indexOf('gmLP') + 4] ^= 1;
  const lost = await readCarrier(blobDamaged);
  assert.deepEqual([lost.blob, lost.modelDamage], [null, 'PNG chunk gmLP has a bad CRC']);
  assert.deepEqual(lost.rgb, plain.rgb);
});

test('PNG: safe-to-copy gmLp/gmRm are read like gmLP/gmRM; both names of one are ambiguous', async () => {
  const raw = Buffer.alloc(4 * (1 + 4 * 3));
  const make = (...extra) =>
    png(ihdr(4, 4), ...extra, chunk('IDAT', deflateSync(raw)), chunk('IEND'));
  const blob = Buffer.from('a blob');
  const map = Buffer.from('a map');
  const fresh = await readCarrier(make(chunk('gmLp', blob), chunk('gmRm', map)));
  assert.deepEqual([Buffer.from(fresh.blob), Buffer.from(fresh.residualMap)], [blob, map]);
  assert.equal(fresh.modelDamage, null);
  const mixed = await readCarrier(make(chunk('gmLP', blob), chunk('gmRm', map)));
  assert.deepEqual([Buffer.from(mixed.blob), Buffer.from(mixed.residualMap)], [blob, map]);
  const both = await readCarrier(make(chunk('gmLP', blob), chunk('gmLp', blob)));
  assert.equal(both.blob, null);
  assert.equal(
    both.modelDamage,
    'PNG holds both gmLP and gmLp chunks (old and new name); it may hold one',
  );
  const maps = await readCarrier(make(chunk('gmRM', map), chunk('gmRm', map)));
  assert.equal(maps.residualMap, null);
  assert.match(maps.notes[0], /^residual map ignored: PNG holds both gmRM and gmRm/);
});
