// End to end in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core): the
// page restores every conformance vector picked through its file input, the float pixels it
// produced are compared with the expected .npy, and what it drew on its Display P3 canvas with
// the 8-bit codes output.onnx gives in Node. Skips when Chromium is not installed.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deflateSync, inflateSync } from 'node:zlib';

import { encode } from '../../node/index.js';
import { readBlob } from '../../node/lib/blob.js';
import { readCarrier } from '../../node/lib/carrier.js';
import { maxAbsError, readNpy } from '../../node/test/npy.js';
import { serve } from '../serve.js';
import { CHROMIUM, launchChromium } from './chromium.js';

const VECTORS = fileURLToPath(new URL('../../../tests/conformance/vectors/', import.meta.url));
const manifest = JSON.parse(readFileSync(VECTORS + 'manifest.json', 'utf8'));
const skip = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} not found (Debian: apt-get install -y chromium); browser test skipped`;
if (skip) console.log(skip);

let server;
let browser;
let page;

before(async () => {
  if (skip) return;
  let url;
  ({ server, url } = await serve(0));
  const origin = new URL(url).origin + '/';
  browser = await launchChromium();
  ({ page } = browser);
  const failures = [];
  page.on('pageerror', (err) => failures.push(err.message));
  // Anything not served by our local server would be a download at run time: refuse it.
  await page.route('**/*', (route) =>
    route.request().url().startsWith(origin) ? route.continue() : route.abort(),
  );
  await page.goto(url);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null, {
    timeout: 60_000,
  });
  const status = await page.textContent('#status');
  assert.equal(
    await page.evaluate(() => document.body.dataset.state),
    'ready',
    `${status} ${failures}`,
  );
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** Pick `file` in the page's file input and wait until the page has restored or refused it. */
async function restoreInPage(file) {
  await page.evaluate(() => {
    document.body.dataset.state = 'busy';
    document.getElementById('file').value = ''; // picking the same file again fires 'change'
  });
  await page.setInputFiles('#file', VECTORS + file);
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null, {
    timeout: 60_000,
  });
  return readPage();
}

/** The last result, the facts, the caption and the restored canvas's RGBA in its own space. */
function readPage() {
  return page.evaluate(() => {
    const last = window.gamut.last;
    const canvas = document.getElementById('restored');
    const ctx = canvas.getContext('2d');
    const space = ctx.getContextAttributes().colorSpace;
    const { width, height } = canvas;
    const drawn = last ? ctx.getImageData(0, 0, width, height, { colorSpace: space }) : null;
    return {
      error: window.gamut.error,
      warnings: last?.warnings ?? [],
      width: last?.width,
      height: last?.height,
      data: last ? Array.from(last.data) : null,
      drawn: drawn ? Array.from(drawn.data) : null,
      canvasSpace: space,
      facts: document.getElementById('facts').textContent,
      space: document.getElementById('restored-caption').textContent,
    };
  });
}

/** The RGB of an RGBA array. */
const rgbOf = (rgba) =>
  Uint8Array.from({ length: (rgba.length / 4) * 3 }, (_, i) => rgba[i + Math.floor(i / 3)]);

for (const vector of manifest.vectors) {
  test(`browser: ${vector.name} (${vector.expect})`, { skip }, async (t) => {
    const got = await restoreInPage(vector.file);
    if (vector.expect === 'error') {
      assert.ok(got.error?.includes(vector.message), `error: ${got.error}`);
      return;
    }
    assert.equal(got.error, null);
    if (vector.expect === 'warning')
      assert.ok(got.warnings.some((w) => w.includes(vector.message)));
    else assert.deepEqual(got.warnings, []);
    const expected = readNpy(readFileSync(VECTORS + vector.output));
    assert.deepEqual(expected.shape, [got.height, got.width, 3]);
    const error = maxAbsError(Float32Array.from(got.data), expected.data);
    t.diagnostic(`max abs error ${error.toExponential(2)} (allowed ${vector.max_abs_error})`);
    assert.ok(error <= vector.max_abs_error, `max abs error ${error}`);
    // The facts table (key and value cells, text joined): blob version and the photo's space.
    assert.ok(got.facts.includes(`format_version${vector.blob_version}`), got.facts);
    assert.ok(got.facts.includes(`source_space${vector.source_space}source_icc`), got.facts);
    const transform = Math.min(vector.blob_version, 2); // 1 for version 1, 2 since version 2
    assert.ok(got.facts.includes(`carrier_transform${transform}`), got.facts);
    assert.ok(got.facts.includes(`context${vector.blob_version === 3}`), got.facts);
    // Drawn through output.onnx: the 8-bit codes Node's output graph gives for the page's data.
    const restored = { width: got.width, height: got.height, data: Float32Array.from(got.data) };
    const codes = await encode(restored, got.canvasSpace, { bits: 8 });
    // The canvas keeps colour premultiplied by alpha: opaque pixels read back exactly, others
    // within the rounding of that product (255 / alpha codes); transparent ones not at all.
    const drawn = rgbOf(got.drawn);
    for (let i = 0; i < codes.length; i++) {
      const alpha = got.drawn[4 * Math.floor(i / 3) + 3];
      const off = Math.abs(drawn[i] - codes[i]);
      assert.ok(alpha === 0 || off <= (alpha === 255 ? 0 : 255 / alpha), `${i}: ${off} off`);
    }
  });
}

test('browser: the source ICC record is inflated (DecompressionStream)', { skip }, async () => {
  const got = await restoreInPage('png_source_icc.png');
  // The same profile length as node:zlib gives through the shared reader.
  const carrier = await readCarrier(new Uint8Array(readFileSync(VECTORS + 'png_source_icc.png')));
  const inflate = (data, max) => new Uint8Array(inflateSync(data, { maxOutputLength: max }));
  const { sourceIcc } = readBlob(carrier.blob, { inflate });
  assert.ok(sourceIcc.length > 128);
  assert.ok(got.facts.includes(`source_icc_bytes${sourceIcc.length}carrier_transform`), got.facts);
});

test('browser: ICC inflation stops past 4 MiB and rejects corrupt data', { skip }, async () => {
  const inflateInPage = (bytes) =>
    page.evaluate(async (data) => {
      try {
        const out = await window.gamut.inflate(Uint8Array.from(data), 4 << 20);
        return out === null ? 'null' : out.length;
      } catch (err) {
        return `error: ${err.message}`;
      }
    }, Array.from(bytes));
  assert.equal(await inflateInPage(deflateSync(new Uint8Array(4 << 20))), 4 << 20);
  assert.equal(await inflateInPage(deflateSync(new Uint8Array((4 << 20) + 1))), 'null');
  assert.match(await inflateInPage(Uint8Array.of(1, 2, 3, 4)), /^error: /);
});

test('browser: the restored image is drawn on a Display P3 canvas', { skip }, async () => {
  const got = await restoreInPage('png_gated_fp16.png');
  assert.match(got.space, /display-p3/);
  assert.equal(got.canvasSpace, 'display-p3');
  assert.ok(!got.facts.includes('pixels_changed_by_model'), got.facts); // not computed yet
});

test('browser: the highlight compares with the no-model expansion', { skip }, async () => {
  const before = await restoreInPage('png_gated_fp16.png');
  await page.check('#highlight');
  await page.waitForFunction(() => document.body.dataset.state === 'done', null, {
    timeout: 60_000,
  });
  const got = await readPage();
  assert.match(got.space, /magenta/);
  const changed = /pixels_changed_by_model(\d+) of (\d+)/.exec(got.facts);
  assert.ok(changed, got.facts);
  const [count, total] = [Number(changed[1]), Number(changed[2])];
  assert.equal(total, got.width * got.height);
  // The gated model runs only at boundary pixels: some, not all, are changed (and magenta).
  assert.ok(count > 0 && count < total, `${count} of ${total}`);
  let magenta = 0;
  for (let i = 0; i < total; i++) {
    const [r, g, b] = got.drawn.slice(4 * i, 4 * i + 3);
    if (r === 255 && g === 0 && b === 255 && before.drawn[4 * i + 1] !== 0) magenta++;
  }
  assert.ok(magenta > 0 && magenta <= count, `${magenta} magenta pixels, ${count} changed`);
  await page.uncheck('#highlight');
  await page.waitForFunction(() => document.body.dataset.state === 'done');
  assert.deepEqual((await readPage()).drawn, before.drawn);
});
