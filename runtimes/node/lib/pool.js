// Worker threads that run the graphs in parallel, one single-threaded onnxruntime-node session
// per graph and core (lib/worker.js). A pool session looks like an InferenceSession to
// lib/restore.js and lib/output.js (`run(feeds, fetches)`, outputs with `data` and `dims`), so
// they keep several runs in flight; `bind` sends the feeds every tile shares once per worker.
// Another worker decodes the residual map's AVIF while the main thread decodes the carrier.
// Workers hold the process open only while they have work. Node only.

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

/** Arrays their owner hands over: a run moves them to its worker instead of copying them. */
export const handedOver = new WeakSet();

/**
 * A tensor as a message carries it: a typed-array view of a larger buffer is cut to its bytes
 * (a message would copy the whole buffer) and that copy is transferred, not copied again; an
 * array handed over is transferred as it is.
 */
function plainFeeds(feeds, transfer) {
  const out = {};
  for (const [name, { type, data, dims }] of Object.entries(feeds)) {
    const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
    const copy = whole ? data : data.slice();
    if (!whole || handedOver.has(data)) transfer.push(copy.buffer);
    out[name] = { type, data: copy, dims };
  }
  return out;
}

export class WorkerPool {
  /** @param {number} size worker threads (one per core is what pays) */
  constructor(size) {
    this.size = Math.max(1, size);
    this.workers = [];
    this.jobs = 0;
    this.binds = 0;
    this.avifWorker = null;
  }

  /** A worker thread and the jobs it has not answered yet. */
  start() {
    const worker = new Worker(WORKER, { execArgv: workerFlags() });
    const state = { worker, pending: new Map() };
    worker.on('message', ({ id, result, error }) => {
      const job = state.pending.get(id);
      state.pending.delete(id);
      if (!state.pending.size) worker.unref();
      if (error === undefined) job.resolve(result);
      else job.reject(new Error(error));
    });
    const fail = (err) => {
      for (const job of state.pending.values()) job.reject(err);
      state.pending.clear();
      this.workers = this.workers.filter((w) => w !== state);
      if (this.avifWorker === state) this.avifWorker = null;
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`a restore worker stopped (exit code ${code})`)));
    worker.unref();
    return state;
  }

  /** The graph workers, started on first use. */
  all() {
    while (this.workers.length < this.size) this.workers.push(this.start());
    return this.workers;
  }

  /** Send `job` to one worker (the least busy unless given); resolves with its answer. */
  send(job, state = null, transfer = []) {
    const target =
      state ?? this.all().reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = ++this.jobs;
    return new Promise((resolve, reject) => {
      target.pending.set(id, { resolve, reject });
      target.worker.ref();
      target.worker.postMessage({ ...job, id }, transfer);
    });
  }

  /** Every worker gets `job`. */
  broadcast(job) {
    return Promise.all(this.all().map((state) => this.send(job, state)));
  }

  /**
   * An InferenceSession-like runner of the graph at `path` on the workers (each loads it with
   * its first run, or on `warm`).
   * @param {string} path
   */
  session(path) {
    const run = (bind, feeds, fetches) => {
      const transfer = [];
      const job = { op: 'run', path, bind, feeds: plainFeeds(feeds, transfer), fetches };
      return this.send(job, null, transfer);
    };
    return {
      /** Start the workers and load the graph in each now, not with its first run there. */
      warm: () => this.broadcast({ op: 'open', path }),
      /** @returns {Promise<Record<string, {type: string, data: any, dims: number[]}>>} */
      run: (feeds, fetches) => run(0, feeds, fetches),
      /**
       * The feeds of many runs, sent once to every worker (messages keep their order, so the
       * runs need not wait for it).
       * @returns {{run: Function, release: () => Promise<void>}}
       */
      bind: (feeds) => {
        const bind = ++this.binds;
        this.broadcast({ op: 'bind', bind, feeds: plainFeeds(feeds, []) }).catch(() => {});
        return {
          run: (more, fetches) => run(bind, more, fetches),
          release: () => this.broadcast({ op: 'release', bind }).then(() => {}),
        };
      },
    };
  }

  /**
   * Decode an AVIF in a worker (the residual map, lib/residualmap.js).
   * @param {Uint8Array} bytes
   * @returns {Promise<{width: number, height: number, channels: 3, data: Uint8Array}>} RGB
   */
  async avif(bytes) {
    // A worker of its own: the graph workers start by loading their sessions, and the map is
    // what the restore waits for.
    this.avifWorker ??= this.start();
    const { image } = await this.send({ op: 'avif', bytes }, this.avifWorker);
    return { width: image.dims[1], height: image.dims[0], channels: 3, data: image.data };
  }

  /** Stop the workers. */
  async close() {
    const workers = [...this.workers, ...(this.avifWorker ? [this.avifWorker] : [])];
    this.workers = [];
    this.avifWorker = null;
    await Promise.all(workers.map((state) => state.worker.terminate()));
  }
}
