// Hot reload: a change under workers/<name>/ reloads the stacks running that Worker; a change to
// code they share (workers/shared/) reloads every stack. Bursts of saves are coalesced.
import { watch } from "node:fs";

const IGNORED = /(^|\/)(node_modules|dist|\.wrangler)(\/|$)/;

export function watchWorkers(workersDir, onChange) {
  const pending = new Set();
  let timer;
  watch(workersDir, { recursive: true }, (_event, file) => {
    if (!file || IGNORED.test(file)) return;
    const top = file.split("/")[0];
    pending.add(top === "platform" || top === "account" ? top : "*");
    clearTimeout(timer);
    timer = setTimeout(() => {
      const workers = pending.has("*") ? ["*"] : [...pending];
      pending.clear();
      for (const worker of workers) onChange(worker);
    }, 150);
  });
}
