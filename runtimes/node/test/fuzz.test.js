// The fuzz corpus of tests/fuzz through the Node runtime: restore() and inspect() must resolve
// with finite data of the right size or reject with GamutError (one-line message) for every
// case; the bombs must be refused in under a second each. Python writes the cases (the same
// corpus as tests/test_fuzz.py); fuzz-worker.js runs them in child processes, so a crash or a
// hang (past CASE_TIMEOUT_MS) is caught and the worker replaced.
//
// GAMUT_FUZZ_CASES (default 3000) and GAMUT_FUZZ_SEED (default 1) change the slice.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const PYTHON = fileURLToPath(new URL('../../../.venv/bin/python', import.meta.url));
const TESTS = fileURLToPath(new URL('../../../tests/', import.meta.url));
const WORKER = fileURLToPath(new URL('./fuzz-worker.js', import.meta.url));
const CASES = Number(process.env.GAMUT_FUZZ_CASES ?? 3000);
const SEED = Number(process.env.GAMUT_FUZZ_SEED ?? 1);
const WORKERS = 2;
// Cases take milliseconds (the slowest, with 32 MiB iCCP chunks that fast-png inflates, about
// a second): a case still running after CASE_TIMEOUT_MS is a hang; a bomb still running after
// BOMB_KILL_MS is killed (either way it was too slow).
const CASE_TIMEOUT_MS = 4000;
const BOMB_MS = 1000;
const BOMB_KILL_MS = 3000;
const MARK = '\x1e';

/** One fuzz-worker.js process; ask() resolves with its result, or a crash / hang finding. */
class Worker {
  constructor() {
    this.child = spawn(process.execPath, [WORKER], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.stderr = '';
    this.stray = [];
    this.pending = null;
    this.child.stderr.on('data', (d) => (this.stderr += d));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      if (!line.startsWith(MARK)) {
        this.stray.push(line);
        return;
      }
      this.settle(JSON.parse(line.slice(1)));
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      const detail = `exit code ${code}${signal ? ` (${signal})` : ''}: ${this.stderr.slice(-2000)}`;
      this.settle({ status: 'lost', findings: [['crash', detail]] });
    });
  }

  settle(result) {
    if (!this.pending) return;
    const { resolve, timer } = this.pending;
    this.pending = null;
    clearTimeout(timer);
    if (this.stray.length) result.findings.push(['stray-stdout', this.stray.join('\n').slice(0, 1000)]);
    if (this.stderr.trim() && result.status !== 'lost') {
      result.findings.push(['stray-stderr', this.stderr.slice(0, 1000)]);
    }
    this.stray = [];
    this.stderr = '';
    resolve(result);
  }

  ask(job, timeoutMs = CASE_TIMEOUT_MS) {
    return new Promise((resolve) => {
      if (this.exited) {
        resolve({ status: 'lost', findings: [['crash', 'worker had exited']] });
        return;
      }
      const timer = setTimeout(() => {
        this.settle({ status: 'lost', findings: [['hang', `no result within ${timeoutMs} ms`]] });
        this.child.kill('SIGKILL');
      }, timeoutMs);
      this.pending = { resolve, timer };
      this.child.stdin.write(JSON.stringify(job) + '\n');
    });
  }

  close() {
    this.child.stdin.end();
    if (!this.exited) setTimeout(() => this.child.kill('SIGKILL'), 5000).unref();
  }
}

/** A bomb in a fresh worker (so that its peak RSS is the bomb's), after a warm-up case, and
 * then the good carriers, which must still restore. */
async function runBomb(bomb, dir, warmup) {
  const worker = new Worker();
  await worker.ask({ id: -1, file: warmup, declared: null }, 60_000);
  const res = await worker.ask({ id: -2, file: join(dir, bomb.file), declared: null }, BOMB_KILL_MS);
  const problems = res.findings.filter(([kind]) => kind !== 'hang');
  if (res.status !== 'lost') {
    const after = await worker.ask({ id: -3, canary: true }, 60_000);
    problems.push(...after.findings);
  }
  worker.close();
  if (res.status !== 'refused' && res.status !== 'lost' && !res.mapIgnored) {
    problems.push([`bomb:${res.status}`, res.message ?? '']);
  }
  if ((res.ms ?? Infinity) >= BOMB_MS) {
    problems.push(['bomb:slow', res.ms === undefined ? `killed after ${BOMB_KILL_MS} ms` :
      `${res.ms.toFixed(0)} ms`]); // prettier-ignore
  }
  return { res, problems };
}

/** Run jobs on `count` workers; a worker that crashed or hung is replaced. */
async function runAll(jobs, count) {
  const results = new Array(jobs.length);
  let next = 0;
  async function lane() {
    let worker = new Worker();
    while (next < jobs.length) {
      const i = next++;
      const res = await jobs[i].run(worker);
      results[i] = res;
      if (res.status === 'lost') {
        worker.close();
        worker = new Worker();
      }
    }
    worker.close();
  }
  await Promise.all(Array.from({ length: count }, lane));
  return results;
}

function summarise(results, entries) {
  const kinds = new Map();
  const counts = { ok: 0, refused: 0, error: 0, lost: 0 };
  let maxMs = 0;
  let maxCase = '';
  results.forEach((r, i) => {
    counts[r.status] = (counts[r.status] ?? 0) + 1;
    if ((r.ms ?? 0) > maxMs) [maxMs, maxCase] = [r.ms, entries[i].name];
    for (const [kind, detail] of r.findings) {
      if (!kinds.has(kind)) kinds.set(kind, { n: 0, example: entries[i], detail });
      kinds.get(kind).n++;
    }
  });
  return { kinds, counts, maxMs, maxCase };
}

function describe(kinds) {
  return [...kinds.entries()]
    .sort((a, b) => b[1].n - a[1].n)
    .map(([kind, { n, example, detail }]) => {
      const last = String(detail).trim().split('\n')[0].slice(0, 200);
      return `- ${kind} x${n}: e.g. ${example.name} [${(example.ops ?? []).join(' ')}]: ${last}`;
    })
    .join('\n');
}

const noPython = !existsSync(PYTHON) && `no ${PYTHON}: the fuzz corpus is written by Python`;

test(`fuzz: ${CASES} corpus cases and the bombs through restore() and inspect()`, {
  skip: noPython,
  timeout: 600_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gamut-onnx-fuzz-'));
  try {
    const started = performance.now();
    execFileSync(PYTHON, ['-m', 'fuzz.corpus', '--out', dir, '--cases', String(CASES),
      '--seed', String(SEED)], { cwd: TESTS, stdio: ['ignore', 'ignore', 'inherit'] }); // prettier-ignore
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    t.diagnostic(`corpus written in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const entries = manifest.cases;
    const jobs = entries.map((c, id) => ({
      run: (w) => w.ask({ id, file: join(dir, c.file), declared: c.declared }),
    }));
    const results = await runAll(jobs, WORKERS);
    const { kinds, counts, maxMs, maxCase } = summarise(results, entries);
    t.diagnostic(
      `cases ${results.length}: ok ${counts.ok}, refused ${counts.refused}, ` +
        `max ${maxMs.toFixed(0)} ms per case (${maxCase}), ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    // Bombs, two at a time, each in a fresh worker.
    const bombFindings = new Map();
    const warmup = join(dir, entries[0].file);
    const queue = [...manifest.bombs];
    await Promise.all(
      [0, 1].map(async () => {
        for (let bomb = queue.shift(); bomb; bomb = queue.shift()) {
          const { res, problems } = await runBomb(bomb, dir, warmup);
          t.diagnostic(
            `bomb ${bomb.name}: ${res.status} in ${res.ms?.toFixed(0) ?? '-'} ms, peak RSS ` +
              `${res.maxRssMb?.toFixed(0) ?? '-'} MB: ${(res.message ?? '').slice(0, 120)}`,
          );
          for (const [kind, detail] of problems) {
            bombFindings.set(`${kind} (${bomb.name})`, { n: 1, example: bomb, detail });
          }
        }
      }),
    );
    const all = new Map([...kinds, ...bombFindings]);
    const hint =
      `reproduce: cd tests && ${PYTHON} -m fuzz.corpus --out DIR --seed ${SEED} ` +
      '--start INDEX --cases 1 (the case name starts with its index), then restore() that file';
    assert.equal(all.size, 0, `fuzz findings in the Node runtime:\n${describe(all)}\n${hint}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
