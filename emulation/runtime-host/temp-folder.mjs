// One temporary folder per runtime host, under which every Miniflare instance keeps its own (the
// merged object service's links live there). Miniflare removes an instance's folder without waiting
// on dispose, and the host exits right after disposing its stacks, so those folders were left behind
// by every run; the host's folder is removed at exit, and folders of hosts that were killed are
// removed by the next one.
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { isAlive } from "./stacks.mjs";

/** Points TMPDIR at a folder of this process's own; returns the function that removes it. */
export function useOwnTempFolder() {
  const root = path.join(os.tmpdir(), "cloudflare-emulation-hosts");
  mkdirSync(root, { recursive: true });
  for (const entry of readdirSync(root)) {
    const pid = Number(entry);
    if (Number.isInteger(pid) && pid !== process.pid && !isAlive(pid)) rmSync(path.join(root, entry), { recursive: true, force: true });
  }
  const folder = path.join(root, String(process.pid));
  mkdirSync(folder, { recursive: true });
  // os.tmpdir() reads TMPDIR on every call; `rm` removes the links in there, never what they point to.
  process.env.TMPDIR = folder;
  return () => rmSync(folder, { recursive: true, force: true });
}
