// Node's workers for lib/pool.js: worker threads running lib/worker.js. Node only.

import { Worker } from 'node:worker_threads';

const WORKER = new URL('./worker.js', import.meta.url);

/**
 * The process's node flags less those about its own entry (-e SCRIPT, --input-type), which a
 * worker started from a file refuses.
 */
function workerFlags(argv = process.execArgv) {
  const flags = [];
  for (let i = 0; i < argv.length; i++) {
    if (['-e', '--eval', '-p', '--print', '--input-type'].includes(argv[i])) i++; // and its value
    else if (!/^--(eval|print|input-type)=/.test(argv[i])) flags.push(argv[i]);
  }
  return flags;
}

/**
 * A worker thread for lib/pool.js (its Spawn): it holds the process open only while it has work.
 * @type {import('./pool.js').Spawn}
 */
export function spawnThread(onAnswer, onFail) {
  const worker = new Worker(WORKER, { execArgv: workerFlags() });
  worker.on('message', onAnswer);
  worker.on('error', onFail);
  worker.on('exit', (code) => onFail(new Error(`a restore worker stopped (exit code ${code})`)));
  return {
    post: (message, transfer) => worker.postMessage(message, transfer),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    terminate: () => worker.terminate(),
  };
}
