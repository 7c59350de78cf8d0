#!/usr/bin/env node
// Time the page restoring and drawing carriers in headless Chromium (cross-origin isolated,
// multi-threaded WebAssembly): node bench.js CARRIER... [--repeats N] [--phases]. Prints one
// JSON line per carrier: restore seconds (the page's own timer), restore + draw seconds (file
// picked to the canvas drawn), each the best of the repeats, every run's restore + draw
// seconds, the phases of the fastest run (seconds from the file being picked: [start, end] of
// each step, window.gamut.last.phases; with --phases every run's, as it ends), threads and
// whether the page was cross-origin isolated; and the page's load to ready seconds and its
// warm-up's (warmup.js).

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { serve } from './serve.js';

const CHROMIUM = '/usr/bin/chromium';
const args = process.argv.slice(2);
const at = args.indexOf('--repeats');
const repeats = at >= 0 ? Number(args.splice(at, 2)[1]) : 3;
const everyPhase = args.includes('--phases') && args.splice(args.indexOf('--phases'), 1);
if (!args.length || !existsSync(CHROMIUM)) {
  console.error(`usage: node bench.js CARRIER... [--repeats N] (needs ${CHROMIUM})`);
  process.exit(2);
}
const { chromium } = await import('playwright-core');
const { server, url } = await serve(0);
const profile = mkdtempSync(join(tmpdir(), 'gamut-bench-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  const loading = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
  const ready = { ready_s: (Date.now() - loading) / 1000, ...(await page.evaluate(() => ({
    warmup_s: window.gamut.warmup }))) }; // prettier-ignore
  for (const file of args) {
    const runs = [];
    for (let k = 0; k < repeats; k++) {
      await page.evaluate(() => {
        document.body.dataset.state = 'ready';
        document.getElementById('file').value = ''; // the same file again must fire 'change'
      });
      const started = Date.now();
      await page.setInputFiles('#file', resolve(file));
      await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state),
        null, { timeout: 600_000 });
      const total = (Date.now() - started) / 1000;
      const facts = await page.evaluate(() => ({
        error: window.gamut.error,
        restore: window.gamut.last?.seconds,
        phases: window.gamut.last?.phases?.toJSON(),
        isolated: self.crossOriginIsolated,
        threads: navigator.hardwareConcurrency,
      }));
      if (facts.error) throw new Error(`${file}: ${facts.error}`);
      runs.push({ restore_s: facts.restore, restore_and_draw_s: total, ...facts });
      if (everyPhase) console.log(JSON.stringify({ run: k, total, phases: facts.phases }));
    }
    const best = (key) => Math.min(...runs.map((r) => r[key]));
    const fastest = runs.find((r) => r.restore_and_draw_s === best('restore_and_draw_s'));
    console.log(JSON.stringify({ file, repeats, restore_s: best('restore_s'),
      restore_and_draw_s: best('restore_and_draw_s'),
      runs_s: runs.map((r) => r.restore_and_draw_s), ...ready, phases: fastest.phases,
      isolated: runs[0].isolated, threads: runs[0].threads }));
  }
} finally {
  await context.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
