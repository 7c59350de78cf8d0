// The TIFF reader (lib/tiff.js, lib/tiffcodecs.js) on files built here: layouts and compressions
// decode to the pixels written, and the IFD is checked against the file before anything is
// trusted (what the fuzzer found in UTIF: huge counts, IFD loops, empty images, stdout).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

import UTIF from 'utif2';

import { readCarrier } from '../lib/carrier.js';
import { REWRITTEN_TAG } from '../lib/tiff.js';
import { lzwDecode, packBitsDecode } from '../lib/tiffcodecs.js';

const TYPE_SIZES = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 11: 4, 16: 8 };

/**
 * A TIFF written by hand. `entries`: [tag, type, count, values] (values: numbers, or the value
 * bytes); the strips or tiles go in `chunks` and their offsets into tag 273 or 324 (count
 * taken from `chunks`). Options: big-endian, BigTIFF, a next-IFD offset.
 */
function buildTiff(entries, chunks, { le = true, big = false, next = 0 } = {}) {
  const [entrySize, inline, head] = big ? [20, 8, 16] : [12, 4, 8];
  const sorted = [...entries].sort((a, b) => a[0] - b[0]);
  const ifdSize = (big ? 8 : 2) + sorted.length * entrySize + (big ? 8 : 4);
  const chunkAt = [];
  let at = head + ifdSize;
  for (const c of chunks) {
    chunkAt.push(at);
    at += c.length;
  }
  const values = sorted.map(([tag, type, count, v]) => {
    if (v instanceof Uint8Array) return v;
    const list = tag === 273 || tag === 324 ? chunkAt : v;
    const out = new Uint8Array(count * TYPE_SIZES[type]);
    const dv = new DataView(out.buffer);
    list.forEach((n, i) => {
      const o = i * TYPE_SIZES[type];
      if (type === 3) dv.setUint16(o, n, le);
      else if (type === 4) dv.setUint32(o, n, le);
      else if (type === 16) dv.setBigUint64(o, BigInt(n), le);
      else out[o] = n;
    });
    return out;
  });
  const file = new Uint8Array(at + values.reduce((n, v) => n + v.length, 0));
  const dv = new DataView(file.buffer);
  const put = (o, n) => (big ? dv.setBigUint64(o, BigInt(n), le) : dv.setUint32(o, n, le));
  file.set(le ? [0x49, 0x49] : [0x4d, 0x4d]);
  dv.setUint16(2, big ? 43 : 42, le);
  if (big) dv.setUint16(4, 8, le);
  put(big ? 8 : 4, head);
  if (big) dv.setBigUint64(head, BigInt(sorted.length), le);
  else dv.setUint16(head, sorted.length, le);
  chunks.forEach((c, i) => file.set(c, chunkAt[i]));
  sorted.forEach(([tag, type, count], k) => {
    const e = head + (big ? 8 : 2) + k * entrySize;
    dv.setUint16(e, tag, le);
    dv.setUint16(e + 2, type, le);
    put(e + 4, count);
    if (values[k].length <= inline) file.set(values[k], e + 4 + (big ? 8 : 4));
    else {
      put(e + 4 + (big ? 8 : 4), at);
      file.set(values[k], at);
      at += values[k].length;
    }
  });
  put(head + (big ? 8 : 2) + sorted.length * entrySize, next);
  return file;
}

/** The tags of an 8-bit RGB(A) image with `count` strips or tiles. */
function rgbTags(width, height, count, { spp = 3, compression = 1, more = [] } = {}) {
  return [
    [256, 4, 1, [width]],
    [257, 4, 1, [height]],
    [258, 3, spp, Array(spp).fill(8)],
    [259, 3, 1, [compression]],
    [262, 3, 1, [2]],
    [277, 3, 1, [spp]],
    ...(spp === 4 ? [[338, 3, 1, [2]]] : []),
    ...more,
    ...(more.some(([t]) => t === 322) ? [[324, 4, count]] : [[273, 4, count]]),
  ];
}

/** TIFF LZW as libtiff writes it: MSB-first codes of 9 to 12 bits, Clear when the table is full. */
function lzwEncode(data) {
  const out = [];
  let [acc, bits, width] = [0, 0, 9];
  const emit = (code) => {
    acc = (acc << width) | code;
    bits += width;
    while (bits >= 8) {
      out.push((acc >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
    acc &= (1 << bits) - 1;
  };
  let [table, next] = [new Map(), 258];
  // Every emitted code counts a table entry (even the last), as the decoder adds one per code.
  const grow = () => {
    next++;
    if (next === 4094) {
      emit(256);
      [table, next, width] = [new Map(), 258, 9];
    } else if (next >= 1 << width) width++;
  };
  emit(256);
  let w = `${data[0]}`;
  for (let i = 1; i < data.length; i++) {
    const wc = `${w},${data[i]}`;
    if (table.has(wc)) {
      w = wc;
      continue;
    }
    emit(table.get(w) ?? Number(w));
    table.set(wc, next);
    grow();
    w = `${data[i]}`;
  }
  emit(table.get(w) ?? Number(w));
  grow();
  emit(257);
  if (bits) out.push((acc << (8 - bits)) & 0xff);
  return Uint8Array.from(out);
}

/** PackBits: runs of 3 or more as repeats, the rest as literals of up to 128 bytes. */
function packBitsEncode(data) {
  const out = [];
  for (let i = 0; i < data.length;) {
    let run = 1;
    while (i + run < data.length && data[i + run] === data[i] && run < 128) run++;
    if (run >= 3) {
      out.push(257 - run, data[i]);
      i += run;
    } else {
      const start = i;
      while (
        i < data.length &&
        i - start < 128 &&
        !(data[i + 1] === data[i] && data[i + 2] === data[i])
      )
        i++;
      out.push(i - start - 1, ...data.subarray(start, i));
    }
  }
  return Uint8Array.from(out);
}

function pixelsOf(count, seed = 3) {
  const out = new Uint8Array(count);
  for (let i = 0, s = seed; i < count; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = i % 7 < 3 ? 40 : s >>> 24; // runs and noise: both codecs get work
  }
  return out;
}

/** Horizontal differencing of rows of `stride` bytes with `spp` samples per pixel. */
function predict(data, stride, spp) {
  const out = Uint8Array.from(data);
  for (let r = 0; r < data.length / stride; r++) {
    for (let j = (r + 1) * stride - 1; j >= r * stride + spp; j--)
      out[j] = (data[j] - data[j - spp]) & 0xff;
  }
  return out;
}

const ENCODERS = { 1: (d) => d, 5: lzwEncode, 8: (d) => deflateSync(d), 32773: packBitsEncode };

test('TIFF codecs: LZW and PackBits round-trip; UTIF reads our LZW the same', () => {
  const data = pixelsOf(70000); // past 4096 codes: the table is cleared and the width resets
  assert.deepEqual(lzwDecode(lzwEncode(data), data.length, 'x'), data);
  assert.deepEqual(packBitsDecode(packBitsEncode(data), data.length), data);
  // Decoding stops at the limit, however much the stream holds.
  assert.deepEqual(lzwDecode(lzwEncode(data), 10, 'x'), data.subarray(0, 10));
  const strip = lzwEncode(data.subarray(0, 69900));
  const tags = rgbTags(100, 233, 1, { compression: 5, more: [[279, 4, 1, [strip.length]]] });
  const file = buildTiff(tags, [strip]);
  const [ifd] = UTIF.decode(file);
  UTIF.decodeImage(file, ifd);
  assert.deepEqual(ifd.data, data.subarray(0, 69900));
});

test('TIFF: strips, tiles, planes, predictor, byte orders, BigTIFF decode exactly', async () => {
  const [W, H] = [37, 21];
  for (const compression of [1, 5, 8, 32773]) {
    for (const layout of ['strips', 'tiles', 'planar']) {
      for (const [le, big, spp, predictor] of [
        [true, false, 3, 1],
        [false, false, 4, 2],
        [true, true, 3, 2],
      ]) {
        const pixels = pixelsOf(W * H * spp, compression + spp);
        const chunks = [];
        let more;
        if (layout === 'tiles') {
          for (let y = 0; y < H; y += 16) {
            for (let x = 0; x < W; x += 16) {
              const tile = new Uint8Array(16 * 16 * spp);
              for (let r = 0; r < 16 && y + r < H; r++) {
                const from = ((y + r) * W + x) * spp;
                tile.set(pixels.subarray(from, from + Math.min(16, W - x) * spp), r * 16 * spp);
              }
              chunks.push(tile);
            }
          }
          more = [
            [322, 3, 1, [16]],
            [323, 3, 1, [16]],
          ];
        } else if (layout === 'planar') {
          for (let p = 0; p < spp; p++) {
            for (let y = 0; y < H; y += 8) {
              const rows = Math.min(8, H - y);
              chunks.push(pixels.filter((_, i) => i % spp === p && Math.floor(i / spp / W) >= y &&
                Math.floor(i / spp / W) < y + rows)); // prettier-ignore
            }
          }
          more = [
            [278, 3, 1, [8]],
            [284, 3, 1, [2]],
          ];
        } else {
          for (let y = 0; y < H; y += 5)
            chunks.push(pixels.subarray(y * W * spp, (y + 5) * W * spp));
          more = [[278, 3, 1, [5]]];
        }
        const s = layout === 'planar' ? 1 : spp;
        const stride = (layout === 'tiles' ? 16 : W) * s;
        const coded = chunks.map((c) =>
          ENCODERS[compression](predictor === 2 ? predict(c, stride, s) : c),
        );
        more.push(
          [317, 3, 1, [predictor]],
          [layout === 'tiles' ? 325 : 279, 4, coded.length, coded.map((c) => c.length)],
        );
        const file = buildTiff(rgbTags(W, H, coded.length, { spp, compression, more }), coded, {
          le,
          big,
        });
        const carrier = await readCarrier(file);
        const name = `${compression} ${layout} ${le ? 'LE' : 'BE'} ${big ? 'big' : ''} ${spp}`;
        assert.deepEqual([carrier.width, carrier.height], [W, H], name);
        const rgb = spp === 3 ? pixels : pixels.filter((_, i) => i % 4 !== 3);
        assert.deepEqual(carrier.rgb, rgb, name);
        if (spp === 4)
          assert.deepEqual(
            carrier.alpha,
            pixels.filter((_, i) => i % 4 === 3),
            name,
          );
      }
    }
  }
});

/** A small valid stripped RGB TIFF, with `extra` entries. */
function smallTiff(extra = [], { width = 4, height = 4, next = 0 } = {}) {
  const strip = pixelsOf(width * height * 3);
  const tags = rgbTags(width, height, 1, { more: [[279, 4, 1, [strip.length]], ...extra] });
  return buildTiff(tags, [strip], { next });
}

test('TIFF: the IFD is checked against the file before any value is read', async () => {
  const refuse = (file, message) =>
    assert.rejects(readCarrier(file), { name: 'GamutError', message });
  // Counts of 2^30 values: what made UTIF abort the process or run out of memory.
  await refuse(
    smallTiff([[283, 11, 0x40000000, new Uint8Array(4)]]),
    'TIFF tag 283 claims 4,294,967,296 bytes of data',
  );
  await refuse(
    smallTiff([[317, 3, 0x40000000, new Uint8Array(4)]]),
    'TIFF tag 317 claims 2,147,483,648 bytes of data',
  );
  await refuse(
    smallTiff([[65117, 7, 2 ** 31, new Uint8Array(4)]]),
    'TIFF tag 65117 claims 2,147,483,648 bytes of data',
  );
  // A value past the end; a bogus type; an entry count past the end.
  const past = smallTiff([[305, 2, 100, new Uint8Array(4)]]);
  new DataView(past.buffer).setUint32(8 + 2 + 12 * 8 + 8, 1e6, true); // tag 305's offset
  await refuse(past, 'TIFF tag 305 points past the end of the file (truncated?)');
  await refuse(
    smallTiff([[305, 99, 1, new Uint8Array(4)]]),
    'TIFF tag 305 has an unknown type (99)',
  );
  const entries = smallTiff();
  new DataView(entries.buffer).setUint16(8, 5000, true);
  await refuse(entries, "TIFF's first image directory claims 5000 entries past the file");
  // Strips past the end, a strip table of the wrong length, zero rows per strip.
  const long = buildTiff(rgbTags(4, 4, 1, { more: [[279, 4, 1, [5000]]] }), [pixelsOf(48)]);
  await refuse(long, 'TIFF image data lies past the end of the file (truncated?)');
  await refuse(smallTiff([[278, 3, 1, [0]]]), 'TIFF has zero rows per strip');
  await refuse(smallTiff([[278, 3, 1, [1]]]), 'TIFF lists 1 image data blocks where 4 are needed');
  // An IFD chain that loops: only the first IFD is read.
  assert.equal((await readCarrier(smallTiff([], { next: 8 }))).width, 4);
});

test('TIFF: empty and oversized images are refused from the header', async () => {
  for (const [w, h] of [
    [0, 4],
    [4, 0],
  ]) {
    const file = smallTiff([], { width: 4, height: 4 });
    const dv = new DataView(file.buffer);
    dv.setUint32(8 + 2 + 8, w, true); // tag 256's value
    dv.setUint32(8 + 2 + 12 + 8, h, true); // tag 257's value
    await assert.rejects(readCarrier(file), { message: `TIFF is empty (${w}x${h} pixels)` });
  }
  const zeros = deflateSync(Buffer.alloc(16000 * 16000 * 3));
  const bomb = buildTiff(
    rgbTags(16000, 16000, 1, { compression: 8, more: [[279, 4, 1, [zeros.length]]] }),
    [zeros],
  );
  const started = performance.now();
  await assert.rejects(
    readCarrier(bomb),
    /^GamutError: TIFF: 16000x16000 is 256,000,000 pixels, above the limit/,
  );
  assert.ok(performance.now() - started < 1000);
  await assert.rejects(
    readCarrier(smallTiff(), { maxPixels: 15 }),
    /4x4 is 16 pixels, above the limit of 15 /,
  );
});

test('TIFF: short strips are refused, a rewritten blob tag is a warning note', async () => {
  const strip = deflateSync(pixelsOf(4 * 3 * 3)); // 3 of the 4 rows
  const short = buildTiff(
    rgbTags(4, 4, 1, { compression: 8, more: [[279, 4, 1, [strip.length]]] }),
    [strip],
  );
  await assert.rejects(readCarrier(short), {
    message: 'TIFF strip 0 decodes to 36 of 48 bytes (truncated?)',
  });
  const ascii = await readCarrier(smallTiff([[65117, 2, 6, Buffer.from('hello\0')]]));
  assert.deepEqual([ascii.blob, ascii.notes], [null, [REWRITTEN_TAG]]);
  const raw = await readCarrier(smallTiff([[65117, 7, 6, Buffer.from('hello\0')]]));
  assert.deepEqual([Buffer.from(raw.blob).toString(), raw.notes], ['hello\0', []]);
});

test('TIFF: decoding a tiled file prints nothing', () => {
  const work = mkdtempSync(join(tmpdir(), 'gamut-tiff-'));
  try {
    const tile = new Uint8Array(16 * 16 * 3);
    const more = [
      [322, 3, 1, [16]],
      [323, 3, 1, [16]],
      [325, 4, 1, [tile.length]],
    ];
    const path = join(work, 'tiled.tif');
    writeFileSync(path, buildTiff(rgbTags(16, 16, 1, { more }), [tile]));
    const carrier = fileURLToPath(new URL('../lib/carrier.js', import.meta.url));
    const script = `import { readFileSync } from 'node:fs';
      const { readCarrier } = await import(${JSON.stringify(carrier)});
      await readCarrier(new Uint8Array(readFileSync(${JSON.stringify(path)})));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(out, '');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
