// Talks to a stack's control entrypoint (control-entrypoint.js) over loopback HTTP.
export class D1Client {
  constructor(controlUrl, binding) {
    this.base = new URL(`/d1/${binding}/`, controlUrl);
  }

  query(sql, params = []) {
    return this.#post("query", { sql, params });
  }

  batch(statements) {
    return this.#post("batch", { statements });
  }

  /** Read replication status, or (with settings) new settings: { replicas, lagMs, frozen }. */
  replication(settings) {
    return settings ? this.#post("replication", settings, "PUT") : this.#post("replication", undefined, "GET");
  }

  /** Statements run in one D1 session started from a bookmark or constraint. */
  session(bookmark, statements) {
    return this.#post("session", { bookmark, statements });
  }

  async #post(op, body, method = "POST") {
    const response = await fetch(new URL(op, this.base), {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const result = await response.json();
    if (!response.ok) throw new Error(`D1 ${op} failed: ${result.error}`);
    return result;
  }
}
