// The recording switch's pushes to a stack's isolate (recording-push.mjs): one at a time, the last
// change kept, a failure said and tried again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { RecordingPush } from "../recording-push.mjs";

/** An isolate that answers after `delays()` ms (or fails when it returns an Error); what it was told, and how many pushes overlapped. */
function isolate(delays) {
  const told = [];
  let open = 0;
  let overlapped = 0;
  return {
    told,
    get overlapped() {
      return overlapped;
    },
    async send(recording) {
      open += 1;
      if (open > 1) overlapped += 1;
      try {
        const delay = delays();
        await sleep(delay instanceof Error ? 1 : delay);
        if (delay instanceof Error) throw delay;
        told.push(recording);
        return recording;
      } finally {
        open -= 1;
      }
    },
  };
}

test("changes faster than the isolate answers: pushes go one at a time, each telling the state wanted when its turn comes", async () => {
  // The first push is the slowest: pushes that overlapped would finish in the wrong order.
  let n = 0;
  const target = isolate(() => (n++ === 0 ? 40 : 5));
  let wanted = false;
  const push = new RecordingPush({ wanted: () => wanted, send: (r) => target.send(r), say: assert.fail });
  push.reset(true);
  const pushes = [push.sync(true)];
  // While the first push waits for its answer: on, off, and on again.
  await sleep(10);
  for (const value of [true, false]) {
    wanted = value;
    pushes.push(push.sync(true));
  }
  wanted = true;
  await Promise.all(pushes);
  assert.equal(target.overlapped, 0, "no push started before the one before it ended");
  assert.deepEqual(target.told, [false, true, true], "the pushes that waited told the last change, not the one current when each was asked for");
  assert.equal(push.known, true);
});

test("a push still under way when the stack restarts does not overwrite what the new isolate started with", async () => {
  const target = isolate(() => 40);
  let wanted = false;
  const push = new RecordingPush({ wanted: () => wanted, send: (r) => target.send(r), say: assert.fail });
  push.reset(true);
  const late = push.sync(true);
  // The stack restarts meanwhile, and its new isolate starts recording, as the harness now wants.
  await sleep(10);
  wanted = true;
  push.reset(true);
  await late;
  assert.deepEqual(target.told, [false], "the old isolate answered, late");
  assert.equal(push.known, true, "what the new isolate started with");
});

test("a push that fails is said, leaves the state unknown, and the next sync tells the isolate again", async () => {
  let fail = true;
  const target = isolate(() => (fail ? new Error("no answer within 5000 ms") : 1));
  const said = [];
  const push = new RecordingPush({ wanted: () => false, send: (r) => target.send(r), say: (recording, error) => said.push([recording, error.message]) });
  push.reset(true);
  await push.sync(true);
  assert.deepEqual(said, [[false, "no answer within 5000 ms"]]);
  assert.equal(push.known, null, "unknown after a failure");
  fail = false;
  // Not forced (a stack start): told again, because what the isolate has is unknown.
  await push.sync();
  assert.deepEqual(target.told, [false]);
  assert.equal(push.known, false);
  // Known and the same: a start does not push again.
  await push.sync();
  assert.deepEqual(target.told, [false]);
});

test("a stack that is not traced is never pushed to", async () => {
  const target = isolate(() => 1);
  const push = new RecordingPush({ wanted: () => false, send: (r) => target.send(r), say: assert.fail });
  await push.sync(true);
  assert.deepEqual(target.told, []);
});
