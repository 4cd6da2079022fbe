// What one stack's Worker tried to reach: the newest entries in memory, and every entry in
// <stack folder>/egress.jsonl, so the residency report still sees them after a restart.
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

const RECORDS = 500;
const FILE_BYTES = 1024 * 1024;

export class EgressLog {
  constructor(directory) {
    this.file = path.join(directory, "egress.jsonl");
    /** The newest RECORDS entries, oldest first. */
    this.entries = read(this.file);
    // The file's size is tracked here rather than asked of the disk on every fetch.
    this.bytes = existsSync(this.file) ? statSync(this.file).size : -1;
  }

  /** Records one fetch; a file that grows past FILE_BYTES is rewritten with the newest entries. Throws if the disk refuses. */
  record(entry) {
    this.entries.push(entry);
    if (this.entries.length > RECORDS) this.entries.shift();
    if (this.bytes < 0) {
      mkdirSync(path.dirname(this.file), { recursive: true });
      this.bytes = 0;
    }
    const line = JSON.stringify(entry) + "\n";
    appendFileSync(this.file, line);
    this.bytes += Buffer.byteLength(line);
    if (this.bytes > FILE_BYTES) {
      const kept = this.entries.map((e) => JSON.stringify(e) + "\n").join("");
      writeFileSync(this.file, kept);
      this.bytes = Buffer.byteLength(kept);
    }
  }
}

function read(file) {
  if (!existsSync(file)) return [];
  const entries = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    try {
      if (line) entries.push(JSON.parse(line));
    } catch {
      // A line cut short by a crash.
    }
  }
  return entries.slice(-RECORDS);
}
