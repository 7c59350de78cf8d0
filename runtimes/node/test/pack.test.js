// The packed npm package carries its own copy of restore.onnx (prepack), installs into an empty
// project with `npm install TARBALL` (dependencies from npm's cache, filled by `npm ci`) and
// restores a conformance vector there; the copy does not linger in the checkout (postpack).

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
  new URL('../../../tests/conformance/vectors/png_gated_fp16.png', import.meta.url),
);

test('npm pack: the tarball restores on its own copy of the graph', async (t) => {
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
    'prophoto.icc',
    'restore.onnx',
  ]) {
    assert.ok(paths.includes(path), `${path} missing from the tarball`);
  }
  assert.ok(!paths.some((p) => p.startsWith('test/')));
  assert.ok(!existsSync(join(PACKAGE, 'restore.onnx')), 'postpack left restore.onnx behind');
  assert.deepEqual(
    readFileSync(join(PACKAGE, '../../src/gamut_onnx/runtime/restore.onnx')),
    await run('tar', ['-xzOf', join(work, filename), 'package/restore.onnx'], {
      encoding: 'buffer',
      maxBuffer: 1 << 26,
    }).then((r) => r.stdout),
  );
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
    import { defaultModelPath, restore } from 'gamut-onnx-restore';
    const r = await restore(readFileSync(${JSON.stringify(VECTOR)}));
    const { width, warnings } = r;
    console.log(JSON.stringify({ model: defaultModelPath(), width, warnings }));`;
  const out = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project });
  const got = JSON.parse(out.stdout);
  assert.equal(got.model, join(project, 'node_modules/gamut-onnx-restore/restore.onnx'));
  assert.deepEqual([got.width, got.warnings], [48, []]);
});
