import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { once } from "node:events";
import { spawn } from "node:child_process";
import { sendToStack } from "../stack-hop.mjs";

/** A loopback server; `handler(req, res)` answers. Closed after the test. */
async function serve(t, handler) {
  const server = http.createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => server.close());
  return `http://127.0.0.1:${server.address().port}`;
}

/**
 * A loopback server in a process of its own, as workerd is: `handlerSource` is the text of a
 * `(req, res) => …` handler. Stopped after the test.
 */
async function serveInChild(t, handlerSource) {
  const source = `import http from "node:http";
    const server = http.createServer(${handlerSource}).listen(0, "127.0.0.1", () => console.log(server.address().port));`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", source], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => child.kill());
  const [line] = await once(child.stdout, "data");
  return `http://127.0.0.1:${Number(line.toString().trim())}`;
}

/** A POST whose body streams in 64 KiB chunks, as a Worker's upload reaches the egress guard. */
function upload(bytes, headers = {}) {
  let left = bytes;
  const body = new ReadableStream({
    pull(controller) {
      const size = Math.min(left, 64 * 1024);
      left -= size;
      if (size > 0) controller.enqueue(new Uint8Array(size));
      if (left === 0) controller.close();
    },
  });
  return new Request("http://target.invalid/upload", { method: "POST", body, headers, duplex: "half" });
}

async function text(body) {
  const chunks = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

test("an answer sent before the upload was read reaches the caller, though the target resets the connection", { timeout: 20_000 }, async (t) => {
  // As workerd does when its Worker refuses a large body unread: answer while the upload is under
  // way, then close the connection under it with a reset.
  const origin = await serveInChild(t, `(req, res) => {
    let read = 0;
    req.on("data", (chunk) => {
      read += chunk.length;
      if (read < 256 * 1024 || res.headersSent) return;
      req.pause();
      res.writeHead(413, { "content-type": "application/json" }).end('{"error":"too_large"}', () => req.socket.resetAndDestroy());
    });
  }`);
  for (let i = 0; i < 10; i++) {
    const answer = await sendToStack(`${origin}/upload`, upload(8 * 1024 * 1024));
    assert.equal(answer.status, 413);
    assert.equal(await text(answer.body), '{"error":"too_large"}');
  }
});

test("the next request after an upload answered early and reset gets a connection that works", { timeout: 20_000 }, async (t) => {
  const origin = await serveInChild(t, `(req, res) => {
    if (req.method === "GET") return void res.end("fine");
    res.writeHead(413).end("too large", () => req.socket.resetAndDestroy());
  }`);
  for (let i = 0; i < 20; i++) {
    const refused = await sendToStack(`${origin}/upload`, upload(200 * 1024));
    assert.equal(refused.status, 413);
    await text(refused.body);
    // At once, in the same turn of the event loop: it must not be sent on the connection just reset.
    const next = await sendToStack(`${origin}/next`, new Request("http://target.invalid/next"));
    assert.equal(await text(next.body), "fine");
  }
});

test("a body the target reads arrives whole, and the answer streams back", { timeout: 20_000 }, async (t) => {
  const origin = await serve(t, async (req, res) => {
    let length = 0;
    for await (const chunk of req) length += chunk.length;
    res.writeHead(201).end(`read ${length}`);
  });
  const answer = await sendToStack(`${origin}/upload`, upload(3 * 1024 * 1024 + 7));
  assert.equal(answer.status, 201);
  assert.equal(await text(answer.body), `read ${3 * 1024 * 1024 + 7}`);
});

test("headers of the connection stay behind: no Expect (workerd sends no 100 Continue), no Connection", { timeout: 20_000 }, async (t) => {
  let seen;
  const origin = await serve(t, (req, res) => {
    seen = req.headers;
    req.resume();
    res.writeHead(200, { "x-kept": "yes" }).end("ok");
  });
  const answer = await sendToStack(`${origin}/upload`, upload(10, { expect: "100-continue", "x-caller": "kept" }), { "mf-original-url": "https://a.example/upload" });
  assert.equal(answer.status, 200);
  await text(answer.body);
  assert.equal(seen.expect, undefined);
  assert.equal(seen["x-caller"], "kept");
  assert.equal(seen["mf-original-url"], "https://a.example/upload");
  assert.ok(answer.headers.some(([name, value]) => name.toLowerCase() === "x-kept" && value === "yes"));
  assert.ok(!answer.headers.some(([name]) => name.toLowerCase() === "connection"));
});

test("an upload that ends short of its Content-Length reaches the target as a broken request", { timeout: 20_000 }, async (t) => {
  let outcome;
  const finished = new Promise((resolve) => (outcome = resolve));
  const origin = await serve(t, (req, res) => {
    let read = 0;
    req.on("data", (chunk) => (read += chunk.length));
    req.on("end", () => outcome(`complete after ${read}`));
    req.on("aborted", () => outcome(`broken after ${read}`));
    req.on("error", () => {});
    res.on("error", () => {});
  });
  // As the egress guard sees a Worker's upload whose client hung up: the stream just ends early.
  const body = new ReadableStream({
    start(controller) {
      controller.enqueue(new Uint8Array(64 * 1024));
      controller.close();
    },
  });
  const request = { method: "POST", headers: new Map([["content-length", String(1024 * 1024)]]), body };
  await assert.rejects(sendToStack(`${origin}/upload`, request));
  assert.equal(await finished, `broken after ${64 * 1024}`);
});

test("a target that is not there is a failed request, not a hang", { timeout: 20_000 }, async () => {
  await assert.rejects(sendToStack("http://127.0.0.1:9/upload", upload(10)), /ECONNREFUSED/);
});

test("a kept-alive connection the target closes as it is reused is not a failed request: it is sent again on a new one", { timeout: 20_000 }, async (t) => {
  const { origin, served } = await resetOnReuse(t);

  const first = await sendToStack(`${origin}/a`, new Request(`${origin}/a`));
  for await (const _ of first.body);
  const second = await sendToStack(`${origin}/b`, new Request(`${origin}/b`, { method: "POST", body: "small", headers: { "content-length": "5" } }));

  assert.equal(second.status, 200);
  assert.deepEqual(served, ["answered", "reset", "answered"]);
});

test("when the target has closed every kept-alive connection, the request sent again takes a new one, not the next closed one", { timeout: 20_000 }, async (t) => {
  const { origin, served } = await resetOnReuse(t);

  // Two connections kept alive (two requests at once), both then closed by the target when reused.
  const firsts = await Promise.all([sendToStack(`${origin}/a`, new Request(`${origin}/a`)), sendToStack(`${origin}/a`, new Request(`${origin}/a`))]);
  for (const first of firsts) for await (const _ of first.body);
  const second = await sendToStack(`${origin}/b`, new Request(`${origin}/b`, { method: "POST", body: "small", headers: { "content-length": "5" } }));

  assert.equal(second.status, 200);
  assert.deepEqual(served, ["answered", "answered", "reset", "answered"]);
});

test("a large upload takes a new connection, never a kept-alive one the target may have closed", { timeout: 20_000 }, async (t) => {
  const { origin, served } = await resetOnReuse(t);

  const first = await sendToStack(`${origin}/a`, new Request(`${origin}/a`));
  for await (const _ of first.body);
  // Too large to be held for a second try: it must not meet the connection the target resets.
  const second = await sendToStack(`${origin}/b`, upload(200 * 1024));

  assert.equal(second.status, 200);
  // Each connection's first request answered (what follows on the upload's own connection is its body).
  assert.deepEqual(served.slice(0, 2), ["answered", "answered"]);
});

/**
 * A target that answers the first request on each connection and keeps it open, and meets a second
 * request on that connection with a reset before any answer (as a target closing an idle connection
 * does); `served` records what each request met.
 */
async function resetOnReuse(t) {
  const net = await import("node:net");
  const served = [];
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let requests = 0;
    socket.on("data", (chunk) => {
      if (!chunk.toString().includes("\r\n\r\n")) return;
      requests++;
      if (requests === 1) {
        served.push("answered");
        socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok");
      } else {
        served.push("reset");
        socket.resetAndDestroy();
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  // The hop keeps its connections alive: they are closed here, or the server would wait for them.
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return { origin: `http://127.0.0.1:${server.address().port}`, served };
}
