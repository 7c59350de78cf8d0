// The packed npm package carries its own copies of the three graphs (prepack), installs into an
// empty project with `npm install TARBALL` (dependencies from npm's cache, filled by `npm ci`)
// and restores a conformance vector there, TIFF included; the copies do not linger in the
// checkout (postpack).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const VECTOR = fileURLToPath(
  new URL('../../../tests/conformance/vectors/png_context_gated.png', import.meta.url),
);
const GRAPHS = ['restore.onnx', 'grids.onnx', 'output.onnx'];

test('npm pack: the tarball restores on its own copies of the graphs', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'gamut-pack-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: PACKAGE,
  });
  // Older npm versions print lifecycle banners before the JSON.
  const [{ filename, files }] = JSON.parse(stdout.slice(stdout.search(/^\[/m)));
  const paths = files.map((f) => f.path);
  for (const path of [
    'index.js',
    'cli.js',
    'index.d.ts',
    'lib/blob.js',
    'lib/output.js',
    'lib/pool.js',
    'lib/spaces.js',
    'lib/worker.js',
    'prophoto.icc',
    ...GRAPHS,
  ]) {
    assert.ok(paths.includes(path), `${path} missing from the tarball`);
  }
  assert.ok(!paths.some((p) => p.startsWith('test/')));
  for (const graph of GRAPHS) {
    assert.ok(!existsSync(join(PACKAGE, graph)), `postpack left ${graph} behind`);
    assert.deepEqual(
      readFileSync(join(PACKAGE, '../../src/gamut_onnx/runtime', graph)),
      await run('tar', ['-xzOf', join(work, filename), `package/${graph}`], {
        encoding: 'buffer',
        maxBuffer: 1 << 26,
      }).then((r) => r.stdout),
      graph,
    );
  }
  const project = join(work, 'app');
  await run('mkdir', [project]);
  writeFileSync(join(project, 'package.json'), '{"name": "app", "private": true, "type": "module"}');
  await run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(work, filename)],
    { cwd: project, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } },
  );
  const script = `
    import { readFileSync } from 'node:fs';
    import { defaultGraphPaths, restoreTiff } from 'gamut-onnx-restore';
    const r = await restoreTiff(readFileSync(${JSON.stringify(VECTOR)}));
    const { width, warnings, tiff } = r;
    const graphs = defaultGraphPaths();
    console.log(JSON.stringify({ graphs, width, warnings, tiff: tiff.length }));`;
  const out = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project });
  const got = JSON.parse(out.stdout);
  const installed = join(project, 'node_modules/gamut-onnx-restore');
  assert.deepEqual(got.graphs, {
    restore: join(installed, 'restore.onnx'),
    grids: join(installed, 'grids.onnx'),
    output: join(installed, 'output.onnx'),
  });
  assert.deepEqual([got.width, got.warnings], [264, []]);
  assert.ok(got.tiff > 1000, `${got.tiff} bytes of TIFF`);
});
