// What Chromium shows: `node readback.js FILE...` opens each image file in headless Chromium
// (Debian's /usr/bin/chromium, driven by playwright-core, on a Display P3 output profile), draws
// it on `display-p3` canvases and writes one JSON line per file to stdout:
// {"file", "width", "height", "rgba", "rgba8": base64 of 8-bit Display P3 RGBA codes} or
// {"file", "error"} when Chromium cannot decode it. The viewer-conformance test (Python) compares
// the codes with the restore's own values; a real viewer, not our code, reads the file.

import { readFileSync } from 'node:fs';
import { extname } from 'node:path';

import { launchChromium } from './chromium.js';

const TYPES = { '.png': 'image/png', '.avif': 'image/avif', '.jxl': 'image/jxl' };

/** Decode `bytes` (base64) as an <img> and draw it on two `display-p3` canvases: a float16 one
 * (the file's full precision; what the test checks) and the default 8-bit one (what most pages
 * draw on); both read back as 8-bit codes. */
async function drawInPage({ data, type }) {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const img = new Image();
  img.src = url;
  try {
    await img.decode();
  } catch (err) {
    return { error: `Chromium cannot decode it (${err.message})` };
  } finally {
    URL.revokeObjectURL(url);
  }
  const { naturalWidth: width, naturalHeight: height } = img;
  const drawn = (colorType) => {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d', { colorSpace: 'display-p3', colorType });
    ctx.drawImage(img, 0, 0);
    const pixelFormat = colorType === 'float16' ? 'rgba-float16' : 'rgba-unorm8';
    const { data } = ctx.getImageData(0, 0, width, height, { colorSpace: 'display-p3', pixelFormat });
    const codes = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++)
      codes[i] = colorType === 'float16' ? Math.round(Math.min(1, Math.max(0, data[i])) * 255) : data[i];
    let text = '';
    for (let i = 0; i < codes.length; i += 0x8000)
      text += String.fromCharCode(...codes.subarray(i, i + 0x8000));
    return btoa(text);
  };
  return { width, height, rgba: drawn('float16'), rgba8: drawn('unorm8') };
}

/** Read every file back through Chromium; one result object per file, in order. */
export async function readBack(files) {
  const browser = await launchChromium(['--force-color-profile=display-p3-d65']);
  try {
    const { page } = browser;
    await page.route('**/*', (route) => route.abort()); // nothing leaves the machine
    const results = [];
    for (const file of files) {
      const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
      const data = readFileSync(file).toString('base64');
      results.push({ file, ...(await page.evaluate(drawInPage, { data, type })) });
    }
    return results;
  } finally {
    await browser.close();
  }
}

if (process.argv[1]?.endsWith('readback.js')) {
  for (const result of await readBack(process.argv.slice(2)))
    process.stdout.write(JSON.stringify(result) + '\n');
}
