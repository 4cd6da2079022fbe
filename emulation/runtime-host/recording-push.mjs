// The recording switch's way to a stack's isolate (ADR 0039): the harness says whether a traced stack's
// invocations are recorded, and each running isolate is told through its control entrypoint
// (/telemetry). Changes can come faster than an isolate answers, and an isolate can fail to answer
// (paused, stopping): pushes go one at a time, each reading the wanted state when its turn comes, so
// the isolate ends with the last change asked for.

export class RecordingPush {
  #turns = Promise.resolve();
  /** Which isolate `known` is about: a start makes a new one (reset), and an older one's answers no longer count. */
  #isolate = 0;

  /**
   * What the isolate was last told and took: true or false; null when unknown (a push failed);
   * undefined when the stack is not traced (nothing to tell).
   */
  known = undefined;

  /**
   * @param {{ wanted: () => boolean, send: (recording: boolean) => Promise<boolean>,
   *   say: (recording: boolean, error: Error) => void }} options `wanted` is the harness's state now;
   *   `send` tells the isolate and resolves with what it answered; `say` reports a push that failed.
   */
  constructor({ wanted, send, say }) {
    this.wanted = wanted;
    this.send = send;
    this.say = say;
  }

  /**
   * A new isolate starts with `recording` (undefined: not traced), as the stack's start wrote it into
   * its entry module. A push still under way to the isolate before it no longer sets `known`.
   */
  reset(recording) {
    this.#isolate += 1;
    this.known = recording;
  }

  /**
   * Tells the isolate the wanted state when this push's turn comes: always when `force` (a change asked
   * for), otherwise only when the isolate may not have it (a change that came while the stack was
   * starting, or a push that failed). Never rejects: a failure is said, and the next sync tries again.
   */
  sync(force = false) {
    const push = this.#turns.then(async () => {
      const recording = this.wanted();
      if (this.known === undefined || (!force && this.known === recording)) return;
      const isolate = this.#isolate;
      try {
        const answer = await this.send(recording);
        if (isolate === this.#isolate) this.known = answer;
      } catch (error) {
        // An isolate that has since been replaced does not matter: the new one started as `reset` said.
        if (isolate !== this.#isolate) return;
        this.known = null;
        this.say(recording, error);
      }
    });
    this.#turns = push;
    return push;
  }
}
