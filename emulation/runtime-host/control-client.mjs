// The runtime host's own calls to a stack's control entrypoint (control-entrypoint.js) over loopback
// HTTP: migrations at start, release publishing. The supervisor's data calls go there directly
// (Runtime/ControlEntrypointClient.cs).
import http from "node:http";
import { randomBytes } from "node:crypto";

/**
 * A new secret for one stack's control entrypoint, which every call to it carries (Authorization:
 * Bearer): the entrypoint listens on a loopback port any local process or browser page can open, and
 * serves every binding's data. One per stack, so a Worker that reads its own stack's secret (it is a
 * module of its bundle) reaches no other stack's data.
 */
export function newControlSecret() {
  return randomBytes(32).toString("hex");
}

// node:http with kept-alive connections: a stack's start waits on these calls (migrations), and
// Node's fetch costs more per call on loopback (ADR 0020).
const agent = new http.Agent({ keepAlive: true });

export class D1Client {
  constructor(controlUrl, binding, secret) {
    this.base = new URL(`/d1/${binding}/`, controlUrl);
    this.secret = secret;
  }

  query(sql, params = []) {
    return this.#send("query", { sql, params });
  }

  /** Applies wrangler-format migrations ([{ name, sql }], in order) not applied yet: { applied }. */
  migrate(migrations) {
    return this.#send("migrations", { migrations });
  }

  #send(op, json, method = "POST") {
    return controlJson(new URL(op, this.base), `D1 ${op}`, { method, json, secret: this.secret });
  }
}

/**
 * The control entrypoint's JSON answer to one request (a `json` value is sent as JSON, a `body` as
 * it is), sent with the stack's `secret`; an answer of 400 or more is an error naming what failed.
 */
export async function controlJson(url, what, { method = "GET", json, body, secret, timeoutMs = undefined }) {
  const payload = json === undefined ? body : JSON.stringify(json);
  const headers = { authorization: `Bearer ${secret}`, ...(json === undefined ? {} : { "content-type": "application/json" }) };
  const { status, result } = await requestJson(url, method, payload, headers, false, timeoutMs);
  if (status >= 400) throw new Error(`${what} failed: ${result.error}`);
  return result;
}

function requestJson(url, method, payload, headers, retried = false, timeoutMs = undefined) {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, agent, headers }, (response) => {
      const chunks = [];
      response.on("data", (chunk) => chunks.push(chunk));
      response.on("error", reject);
      response.on("end", () => {
        try {
          resolve({ status: response.statusCode, result: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
        } catch (error) {
          reject(new Error(`${method} ${url.pathname}: the control entrypoint answered ${response.statusCode} without JSON (${error.message})`));
        }
      });
    });
    request.on("error", (error) => {
      // A kept-alive connection the stack closed (it restarted) before the request reached it.
      if (request.reusedSocket && error.code === "ECONNRESET" && !retried) resolve(requestJson(url, method, payload, headers, true, timeoutMs));
      else reject(error);
    });
    if (timeoutMs !== undefined) request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.end(payload);
  });
}
