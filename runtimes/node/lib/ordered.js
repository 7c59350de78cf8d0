// Runs in flight at once, results in order: what lets a session that runs in worker threads
// (lib/pool.js) work on several tiles while the caller consumes them one by one.

/**
 * Results of `tasks` (functions returning promises) in order, with up to `parallel` running:
 * a session that runs in worker threads (lib/pool.js) takes several runs at once.
 * @template T
 * @param {Iterable<() => Promise<T>>|AsyncIterable<() => Promise<T>>} tasks
 * @param {number|(() => number)} parallel the limit, or a function asked before each task
 * @returns {AsyncGenerator<T>}
 */
export async function* ordered(tasks, parallel = 1) {
  const limit = typeof parallel === 'function' ? parallel : () => parallel;
  const running = [];
  for await (const task of tasks) {
    const promise = task();
    promise.catch(() => {}); // rejections are re-raised in order below
    running.push(promise);
    while (running.length >= limit()) yield await running.shift();
  }
  while (running.length) yield await running.shift();
}
