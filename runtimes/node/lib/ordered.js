// Runs in flight at once, results in order: what lets a session that runs in worker threads
// (lib/pool.js) work on several tiles while the caller consumes them one by one.

/**
 * Results of `tasks` (functions returning promises) in order, with up to `parallel` running:
 * a session that runs in worker threads (lib/pool.js) takes several runs at once.
 * @template T
 * @param {Iterable<() => Promise<T>>|AsyncIterable<() => Promise<T>>} tasks
 * @param {number} parallel
 * @returns {AsyncGenerator<T>}
 */
export async function* ordered(tasks, parallel = 1) {
  const running = [];
  for await (const task of tasks) {
    const promise = task();
    promise.catch(() => {}); // rejections are re-raised in order below
    running.push(promise);
    if (running.length >= parallel) yield await running.shift();
  }
  while (running.length) yield await running.shift();
}
