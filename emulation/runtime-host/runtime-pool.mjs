// One spare workerd, spawned ahead of need (ADR 0021). Before it reads its config, workerd spends
// time starting (exec, relocating its large binary, static initialisers), and Node's spawn forks this
// whole process first. A stack's start takes the spare, already waiting for its config on stdin, and
// the next spare is spawned once that config is written (spawned before, the fork held up the config
// still to be written to the starting process). Every Miniflare instance starts workerd with the
// same arguments (patched: the addresses are in the config), so any spare fits; one started with
// other arguments or environment is not used.
import { spawn } from "node:child_process";

export class RuntimePool {
  /** @type {{ key: string, child: import("node:child_process").ChildProcess } | undefined} */
  #spare;
  #closed = false;

  /** Miniflare's `unsafeSpawnRuntime`: same signature as child_process.spawn. */
  spawn(command, args, options) {
    const key = JSON.stringify([command, args, options.stdio, options.env]);
    const spare = this.#spare;
    this.#spare = undefined;
    const child = spare?.key === key && spare.child.exitCode === null && spare.child.signalCode === null ? spare.child : spawn(command, args, options);
    if (spare && spare.child !== child) spare.child.kill();
    // Once this start's config is written (the fork would hold up this process meanwhile).
    if (child.stdin) child.stdin.once("finish", () => this.#refill(key, command, args, options));
    else setImmediate(() => this.#refill(key, command, args, options));
    return child;
  }

  /** Kills the spare; later spawns start workerd directly. */
  close() {
    this.#closed = true;
    this.#spare?.child.kill();
    this.#spare = undefined;
  }

  #refill(key, command, args, options) {
    if (this.#closed || this.#spare) return;
    const child = spawn(command, args, options);
    // A spare that dies unused (or fails to spawn) is simply not there for the next start.
    child.on("error", () => {});
    child.on("exit", () => {
      if (this.#spare?.child === child) this.#spare = undefined;
    });
    this.#spare = { key, child };
  }
}
