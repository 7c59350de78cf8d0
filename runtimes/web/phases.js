// When each step of a restore ran, for bench.js and the curious (window.gamut.last.phases):
// seconds since the restore started, the earliest start and latest end of each step's calls.

const round = (ms) => Math.round(ms) / 1000;

/** The steps of one restore, timed: `note`, `time`, `timed` and `session` record them. */
export class Phases {
  constructor() {
    this.started = performance.now();
    this.spans = {};
  }

  /** Step `name` ran from `from` to `to` (performance.now() times). */
  note(name, from, to = performance.now()) {
    const span = (this.spans[name] ??= [from, to]);
    span[0] = Math.min(span[0], from);
    span[1] = Math.max(span[1], to);
  }

  /** `fn`'s result, its call timed as step `name`. */
  async time(name, fn) {
    const from = performance.now();
    try {
      return await fn();
    } finally {
      this.note(name, from);
    }
  }

  /** A function whose calls are timed as step `name`. */
  timed(name, fn) {
    return (...args) => this.time(name, () => fn(...args));
  }

  /** A pool session (workers.js) whose runs are timed as step `name`. */
  session(session, name) {
    return {
      ...session,
      run: this.timed(name, session.run),
      bind: (feeds) => {
        const bound = session.bind(feeds);
        return { ...bound, run: this.timed(name, bound.run) };
      },
    };
  }

  /** Seconds since the start: {step: [start, end]}. */
  toJSON() {
    const out = {};
    for (const [name, [from, to]] of Object.entries(this.spans)) {
      out[name] = [round(from - this.started), round(to - this.started)];
    }
    return out;
  }
}
