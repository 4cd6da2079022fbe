// Bundles a Worker from workers/<name>/ the way wrangler would: the entry point and compatibility
// settings come from the Worker's own wrangler.jsonc, so production config is the single source.
import { readFileSync } from "node:fs";
import path from "node:path";

export class WorkerBundler {
  #cache = new Map();

  constructor(workersDir, esbuild) {
    this.workersDir = workersDir;
    this.esbuild = esbuild;
  }

  /** Drops the cached bundle of one Worker (or of all, when worker is undefined). */
  invalidate(worker) {
    if (worker === undefined) this.#cache.clear();
    else this.#cache.delete(worker);
  }

  /** @returns {Promise<{script: string, compatibilityDate: string, compatibilityFlags: string[], migrationsDir: string}>} */
  async bundle(worker) {
    let pending = this.#cache.get(worker);
    if (!pending) {
      pending = this.#build(worker);
      this.#cache.set(worker, pending);
      pending.catch(() => this.#cache.delete(worker));
    }
    return pending;
  }

  async #build(worker) {
    const dir = path.join(this.workersDir, worker);
    const config = readWranglerConfig(path.join(dir, "wrangler.jsonc"));
    const result = await this.esbuild.build({
      entryPoints: [path.join(dir, config.main)],
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      conditions: ["workerd", "worker", "browser"],
      mainFields: ["module", "main"],
      write: false,
      logLevel: "silent",
      sourcemap: false,
    });
    const d1 = config.d1_databases?.[0];
    return {
      script: result.outputFiles[0].text,
      compatibilityDate: config.compatibility_date,
      compatibilityFlags: config.compatibility_flags ?? [],
      migrationsDir: path.join(dir, d1?.migrations_dir ?? "migrations"),
    };
  }
}

/** wrangler.jsonc allows // and /* *\/ comments and trailing commas; JSON.parse allows neither. */
export function readWranglerConfig(file) {
  const text = readFileSync(file, "utf8");
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      out += ch;
      if (ch === "\\") out += text[++i];
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
      out += ch;
    } else if (ch === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (ch === "/" && text[i + 1] === "*") {
      i = text.indexOf("*/", i + 2) + 1;
    } else {
      out += ch;
    }
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, "$1"));
}
