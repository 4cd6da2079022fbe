// Talks to a stack's control sidecar (control-worker.js) over loopback HTTP.
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

  async #post(op, body) {
    const response = await fetch(new URL(op, this.base), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const result = await response.json();
    if (!response.ok) throw new Error(`D1 ${op} failed: ${result.error}`);
    return result;
  }
}
