// The drop-in as a site gets it: `npm pack` of this package, unpacked and served (without
// cross-origin isolation, as most sites are) beside a page of <img> elements that adds one
// <script type="module">. In headless Chromium with the display treated as Display P3, the
// carriers become canvases whose pixels read back within 1e-3 of the Python restore in Display P3
// (the conformance vectors' 16-bit codes), laid out as the images were; a file without a model,
// a damaged carrier and an opted-out image stay images. With the display treated as sRGB nothing
// is upgraded or even fetched. With ../shared/data/dev/full and the Python package, a 2 MP and a
// 12 MP carrier are encoded and their upgrade timed, with the main thread's longest task.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { readNpy } from '../../node/test/npy.js';
import { buildPng } from '../../node/test/pngfile.js';
import { CHROMIUM } from './chromium.js';

const run = promisify(execFile);
const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const ROOT = resolve(PACKAGE, '..', '..');
const VECTORS = join(ROOT, 'tests', 'conformance', 'vectors');
const FULL = resolve(ROOT, '..', 'shared', 'data', 'dev', 'full');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found; drop-in test skipped`;
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.wasm': 'application/wasm', '.png': 'image/png', '.jpg': 'image/jpeg' }; // prettier-ignore

let work;
let server;
let origin;
const requests = [];

/** The page: images, the one script line, and what the test reads (events, long tasks). */
function pageHtml(images) {
  return `<!doctype html><html><head><meta charset="utf-8">
<style>img.photo { width: 160px; height: auto; border-radius: 4px; }</style>
<script>
  window.upgraded = []; window.longTasks = [];
  document.addEventListener('gamutupgrade', (e) => window.upgraded.push(e.detail));
  new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map(
    (t) => ({ start: t.startTime, duration: t.duration })))).observe({ type: 'longtask' });
</script>
<script type="module" src="/gamut/dist/gamut-onnx-web.js"></script>
</head><body>${images.join('\n')}</body></html>`;
}

function serveFolder(folder) {
  return createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    requests.push(path);
    const file = resolve(folder, '.' + path);
    if (!file.startsWith(folder + sep) || !existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
}

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'gamut-dropin-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: PACKAGE,
  });
  const [{ filename }] = JSON.parse(stdout.slice(stdout.search(/^\[/m)));
  mkdirSync(join(work, 'gamut'));
  const unpack = ['-xzf', join(work, filename), '-C', join(work, 'gamut'), '--strip-components=1'];
  await run('tar', unpack);
  const files = ['png_map_sealed.png', 'jpeg_q90_context.jpg', 'neg_bad_crc.png',
    'neg_edited_pixels.png']; // prettier-ignore
  for (const name of files) writeFileSync(join(work, name), readFileSync(join(VECTORS, name)));
  writeFileSync(join(work, 'plain.png'), buildPng(64, 48).file); // no model
  writeFileSync(
    join(work, 'index.html'),
    pageHtml([
      '<img id="map" class="photo" src="png_map_sealed.png" alt="a map carrier">',
      '<img id="jpeg" src="jpeg_q90_context.jpg" alt="" width="120" height="90">',
      '<img id="plain" src="plain.png" alt="no model">',
      '<img id="damaged" src="neg_bad_crc.png" alt="damaged">',
      '<img id="edited" src="neg_edited_pixels.png" alt="edited">',
      '<img id="off" data-gamut="off" src="png_map_sealed.png?off" alt="opted out">',
    ]),
  );
  server = serveFolder(work);
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  origin = `http://127.0.0.1:${server.address().port}`;
});

after(() => {
  server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A fresh headless Chromium whose display is treated as `profile`; its page and console. */
async function browse(profile) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', `--force-color-profile=${profile}`],
  });
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  const warnings = [];
  const errors = [];
  page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
  page.on('pageerror', (err) => errors.push(err.message));
  await page.route('**/*', (route) =>
    route.request().url().startsWith(origin) ? route.continue() : route.abort(),
  );
  return { browser, page, warnings, errors };
}

/** Display P3 values the Python restore gives (its 16-bit codes), H*W*3 in [0, 1]. */
function expectedP3(vector) {
  const { data } = readNpy(readFileSync(join(VECTORS, `${vector}.display-p3.npy`)));
  return Float64Array.from(data, (code) => code / 65535);
}

test('drop-in: carriers become Display P3 canvases on a wide-gamut screen', { skip }, async (t) => {
  const { browser, page, warnings, errors } = await browse('display-p3-d65');
  t.after(() => browser.close());
  await page.goto(`${origin}/index.html`);
  const boxes = await page.evaluate(() =>
    Object.fromEntries([...document.images].map((img) => {
      const { width, height } = img.getBoundingClientRect();
      return [img.id, [width, height]];
    })), // prettier-ignore
  );
  await page.waitForFunction(() => window.upgraded.length >= 3, null, { timeout: 60_000 });
  await page.waitForTimeout(500); // the damaged file's warning, anything late
  assert.deepEqual(errors, []);
  const state = await page.evaluate(() => {
    const out = {};
    for (const id of ['map', 'jpeg', 'plain', 'damaged', 'edited', 'off']) {
      const el = document.getElementById(id);
      const { width, height } = el.getBoundingClientRect();
      out[id] = { tag: el.tagName, box: [width, height], label: el.getAttribute('aria-label'),
        className: el.className, hidden: el.getAttribute('aria-hidden') }; // prettier-ignore
      if (el.tagName !== 'CANVAS') continue;
      const ctx = el.getContext('2d');
      const format = { colorSpace: 'display-p3', pixelFormat: 'rgba-float16' };
      out[id].colorType = ctx.getContextAttributes().colorType;
      out[id].pixels = Array.from(ctx.getImageData(0, 0, el.width, el.height, format).data);
    }
    return { out, upgraded: window.upgraded };
  });
  const { out } = state;
  assert.equal(out.map.tag, 'CANVAS');
  assert.equal(out.jpeg.tag, 'CANVAS');
  assert.equal(out.edited.tag, 'CANVAS'); // restored with the decoder's warning, as in Python
  for (const id of ['plain', 'damaged', 'off']) assert.equal(out[id].tag, 'IMG', id);
  assert.equal(out.map.label, 'a map carrier');
  assert.equal(out.map.className, 'photo');
  assert.equal(out.jpeg.hidden, 'true'); // alt="": decorative
  for (const id of ['map', 'jpeg']) assert.deepEqual(out[id].box, boxes[id], `${id} box`);
  assert.ok(warnings.some((w) => w.includes('neg_bad_crc.png') && w.includes('CRC32')), warnings);
  assert.ok(warnings.some((w) => w.includes('pixels changed')), warnings);
  assert.ok(!warnings.some((w) => w.includes('plain.png')), warnings);
  for (const [id, vector] of [['map', 'png_map_sealed'], ['jpeg', 'jpeg_q90_context'],
    ['edited', 'neg_edited_pixels']]) { // prettier-ignore
    assert.equal(out[id].colorType, 'float16');
    const expected = expectedP3(vector);
    let worst = 0;
    for (let i = 0; i < expected.length; i++) {
      const got = out[id].pixels[i + Math.floor(i / 3)];
      worst = Math.max(worst, Math.abs(got - expected[i]));
    }
    t.diagnostic(`${id}: max |canvas - Python restore in Display P3| = ${worst.toExponential(2)}`);
    assert.ok(worst <= 1e-3, `${id}: ${worst}`);
  }
});

test('drop-in: an sRGB display upgrades nothing and loads nothing', { skip }, async () => {
  const { browser, page, errors } = await browse('srgb');
  try {
    requests.length = 0;
    await page.goto(`${origin}/index.html`);
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(1000);
    const tags = await page.evaluate(() => [...document.body.children].map((el) => el.tagName));
    assert.deepEqual(errors, []);
    assert.ok(tags.every((tag) => tag === 'IMG'), tags.join());
    // The page, the entry module and the images: no restore module, worker, graph or WASM.
    const ours = requests.filter((path) => path.startsWith('/gamut/'));
    assert.deepEqual(ours, ['/gamut/dist/gamut-onnx-web.js']);
  } finally {
    await browser.close();
  }
});

/**
 * Carriers to time: GAMUT_DROPIN_CARRIERS (comma-separated PNG paths), else a 2 MP crop and the
 * 12 MP original of a dev/full photo encoded now (fast recipe with a residual map); none
 * without ../shared or the Python package.
 */
async function timedCarriers() {
  if (process.env.GAMUT_DROPIN_CARRIERS) return process.env.GAMUT_DROPIN_CARRIERS.split(',');
  const photo = join(FULL, 'immich_IMG_2682_DisplayP3.tif');
  if (!existsSync(photo) || !existsSync(PYTHON)) return [];
  const crop = join(work, 'crop2mp.tif');
  const cut =
    'import sys, tifffile; a = tifffile.imread(sys.argv[1]); ' +
    'tifffile.imwrite(sys.argv[2], a[900:900 + 1224, 1200:1200 + 1632])';
  await run(PYTHON, ['-c', cut, photo, crop]);
  const out = [];
  for (const [source, name] of [[crop, 'carrier-2mp.png'], [photo, 'carrier-12mp.png']]) {
    const args = ['-m', 'gamut_onnx', 'encode', source, '-o', join(work, name), '--preset',
      'fast', '--residual-map', '--input-space', 'display-p3']; // prettier-ignore
    await run(PYTHON, args, { timeout: 300_000 });
    out.push(join(work, name));
  }
  return out;
}

test('drop-in: time to upgrade a 2 MP and a 12 MP carrier', { skip }, async (t) => {
  const carriers = await timedCarriers();
  if (!carriers.length) return t.skip('no ../shared/data/dev/full or no .venv: nothing to time');
  for (const path of carriers) {
    const name = path.split(sep).pop();
    writeFileSync(join(work, name), readFileSync(path));
    writeFileSync(
      join(work, `time-${name}.html`),
      pageHtml([
        `<img src="${name}" data-gamut="off" alt="as any viewer shows it" style="width: 480px">`,
        `<img id="photo" src="${name}" alt="upgraded" style="width: 480px">`,
      ]),
    );
    const { browser, page, errors } = await browse('display-p3-d65');
    try {
      await page.goto(`${origin}/time-${name}.html`);
      // The first image starts the workers and onnxruntime-web; a second one finds them warm.
      await page.waitForFunction(() => window.upgraded.length, null, { timeout: 300_000 });
      // GAMUT_DROPIN_SCREENSHOT: the first carrier's page, the file as it is beside the canvas.
      const screenshot = process.env.GAMUT_DROPIN_SCREENSHOT;
      if (screenshot && path === carriers[0]) {
        const clip = await page.evaluate(() => {
          const { width, height } = document.body.getBoundingClientRect();
          return { x: 0, y: 0, width: width + 16, height: height + 16 };
        });
        await page.screenshot({ path: screenshot, clip });
      }
      await page.evaluate((src) => {
        const img = Object.assign(new Image(), { src: `${src}?again`, alt: 'again' });
        document.body.append(img);
      }, name);
      await page.waitForFunction(() => window.upgraded.length > 1, null, { timeout: 300_000 });
      await page.waitForTimeout(300); // the last long task's entry
      const runs = await page.evaluate(() =>
        window.upgraded.map((done) => {
          const end = done.started + done.seconds * 1000;
          const during = window.longTasks.filter((task) => task.start + task.duration > done.started
            && task.start < end); // prettier-ignore
          return { ...done, blocks: during.map((task) => task.duration) };
        }),
      );
      assert.deepEqual(errors, []);
      for (const [run, upgrade] of [['first', runs[0]], ['next', runs[1]]]) {
        const longest = upgrade.blocks.length ? Math.max(...upgrade.blocks) : 0;
        const megapixels = (upgrade.width * upgrade.height) / 1e6;
        t.diagnostic(
          `${name} (${run} image on the page): ${upgrade.width}x${upgrade.height} upgraded in ` +
            `${upgrade.seconds.toFixed(2)} s (restore ${upgrade.restoreSeconds.toFixed(2)} s, ` +
            `${(upgrade.seconds / megapixels).toFixed(2)} s/MP); main thread: longest task ` +
            `${longest.toFixed(0)} ms, ${upgrade.blocks.length} over 50 ms`,
        );
      }
    } finally {
      await browser.close();
    }
  }
});
