// The page's pool (../node/lib/pool.js) on Web Workers running worker.js: one per core, each
// with single-threaded onnxruntime-web sessions of the three graphs, and one more that decodes
// the residual map's AVIF while the page reads the carrier.

import { WorkerPool } from '../node/lib/pool.js';

const WORKER = new URL('./worker.js', import.meta.url);
const GRAPHS = ['restore', 'grids', 'output'];

/**
 * A module worker for lib/pool.js (its Spawn). A worker that fails to load or throws outside a
 * job is stopped: its jobs fail and the pool starts another for the next.
 * @type {import('../node/lib/pool.js').Spawn}
 */
export function spawnWorker(onAnswer, onFail) {
  const worker = new Worker(WORKER, { type: 'module' });
  const lost = (message) => {
    worker.terminate();
    onFail(new Error(`a restore worker failed: ${message}`));
  };
  worker.onmessage = ({ data }) => onAnswer(data);
  worker.onerror = (event) => {
    event.preventDefault(); // reported as the jobs' error instead
    lost(event.message || 'it did not load');
  };
  worker.onmessageerror = () => lost('a message could not be read');
  return {
    post: (message, transfer) => worker.postMessage(message, transfer),
    ref() {},
    unref() {},
    terminate: () => worker.terminate(),
  };
}

/**
 * Sessions over the three graphs, served as /graph/NAME.onnx (serve.js), in `threads` workers,
 * each graph loaded in every worker before this resolves.
 * @param {number} [threads] workers: default one per core
 * @returns {Promise<{restore: object, grids: object, output: object, parallel: number,
 *   pool: WorkerPool}>} parallel: runs to keep in flight (lib/restore.js's option)
 */
export async function openSessions(threads = navigator.hardwareConcurrency || 1) {
  const pool = new WorkerPool(threads, spawnWorker);
  const sessions = { pool, parallel: 2 * pool.size }; // one waiting per worker while another runs
  for (const name of GRAPHS) {
    sessions[name] = pool.session(new URL(`../graph/${name}.onnx`, import.meta.url).href);
  }
  await Promise.all(GRAPHS.map((name) => sessions[name].warm()));
  return sessions;
}

/**
 * `array` in shared memory where the page may share it (cross-origin isolated), so that
 * lib/pool.js hands the workers views of it instead of copies: a copy, or `array` itself where
 * it is shared already (the map's samples) or cannot be.
 * @template {Uint8Array|Float32Array|null} T
 * @param {T} array
 * @returns {T}
 */
export function shared(array) {
  if (!array || !self.crossOriginIsolated) return array;
  if (array.buffer instanceof SharedArrayBuffer) return array;
  const out = new array.constructor(new SharedArrayBuffer(array.byteLength));
  out.set(array);
  return out;
}
