// The Worker-to-Worker hop: a subrequest one stack's Worker makes to another stack (its
// <script>.<subdomain>.workers.dev URL), sent to that stack's own port by the egress guard.
import http from "node:http";
import net from "node:net";
import { Readable } from "node:stream";

/**
 * Kept-alive connections (Node's fetch costs more CPU per call, in the process every stack shares)
 * whose writes may meet a reset without losing what the target sent before it.
 *
 * A Worker may answer before it reads the body (a 413 for a body too large, a 400 or 401 on the
 * query or headers); workerd then closes the connection under a large upload, with a reset. The
 * answer is in the kernel's receive queue, but Node marks the whole socket failed on the write
 * that meets the reset and never reads it — Node's fetch reports a failed request. On these
 * sockets a failed write ends the upload instead (the write is reported done, the rest is
 * dropped) and reading goes on: the answer is what the caller gets, as at the edge.
 */
class UploadAgent extends http.Agent {
  createConnection(options, callback) {
    const socket = net.createConnection(options, callback);
    // Every write of a net.Socket, at once or later, reports its outcome through this method's callback.
    const writeGeneric = socket._writeGeneric;
    socket._writeGeneric = function (writev, data, encoding, done) {
      if (this.uploadRefused) return done();
      return writeGeneric.call(this, writev, data, encoding, (error) => {
        if (error?.syscall !== "write") return done(error);
        this.uploadRefused = true;
        done();
      });
    };
    return socket;
  }

  /** A connection whose upload met a reset is finished: it never carries another request. */
  keepSocketAlive(socket) {
    return !socket.uploadRefused && super.keepSocketAlive(socket);
  }
}

const agent = new UploadAgent({ keepAlive: true });
/** For a request sent again: a connection of its own, as the pool may hold more connections the target has closed. */
const freshAgent = new UploadAgent({ keepAlive: false });

// A body up to this size is drained by workerd when its Worker answers without reading it (kj's
// canceled-upload grace), and the connection stays usable. A larger one (or one of unknown size)
// goes on a connection of its own: workerd resets a connection under an upload it did not read,
// possibly after the whole body was already handed to the kernel — reused, it would fail the next
// request.
const KEEP_ALIVE_BODY_BYTES = 64 * 1024;

// Headers that describe one connection, not the request or response: never passed on. `expect`
// among them: workerd sends no 100 Continue, and an interim answer must not reach the calling
// Worker as its response.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "expect", "host"]);

/**
 * Sends `request` (an undici Request from Miniflare) to `targetUrl` (a stack's own origin) and
 * resolves with the answer's status, headers and body stream as soon as its head arrives, also
 * when the target answers before reading the whole body (see UploadAgent).
 *
 * A kept-alive connection the target closed just as it was reused fails the request before the
 * target saw it (a reset on a reused socket, before any answer): sent again on a new connection,
 * as Node's documentation advises — it could not have run. (Not on another kept-alive one: the
 * target may have closed several at once, and the next could fail the same way.) Bodies that may take a kept-alive
 * connection are small and held in memory for that; larger ones go on a connection of their own.
 */
export async function sendToStack(targetUrl, request, extraHeaders) {
  const headers = {};
  for (const [name, value] of request.headers) if (!HOP_BY_HOP.has(name)) headers[name] = value;
  Object.assign(headers, extraHeaders);
  const large = request.body !== null && !(Number(headers["content-length"] ?? "NaN") <= KEEP_ALIVE_BODY_BYTES);
  if (large) {
    // A new connection (not one from the pool, which the target may have closed while idle), closed after.
    headers.connection = "close";
    return sendOnce(targetUrl, request.method, headers, Readable.fromWeb(request.body), freshAgent).catch((error) => {
      throw said(error, "on a connection of its own");
    });
  }
  const small = request.body === null ? undefined : Buffer.from(await new Response(request.body).arrayBuffer());
  try {
    return await sendOnce(targetUrl, request.method, headers, small === undefined ? undefined : Readable.from([small]));
  } catch (error) {
    if (!error.reusedSocket || !(error.code === "ECONNRESET" || error.code === "EPIPE")) throw said(error, error.reusedSocket ? "on a kept-alive connection" : "on a new connection");
    return sendOnce(targetUrl, request.method, headers, small === undefined ? undefined : Readable.from([small]), freshAgent).catch((again) => {
      throw said(again, `sent again on a new connection after a kept-alive one failed: ${error.message}`);
    });
  }
}

/** The error with where it happened added to its message (what a failed request's 502 says). */
function said(error, where) {
  error.message = `${error.message} (${where})`;
  return error;
}

function sendOnce(targetUrl, method, headers, body, through = agent) {
  return new Promise((resolve, reject) => {
    let answered = false;
    const outgoing = http.request(targetUrl, { method, headers, agent: through });
    outgoing.on("response", (answer) => {
      answered = true;
      // An answer that ends (or a connection that closes) before the upload does: the target reads
      // no more of it. The rest is read and dropped, so the calling Worker's connection to its
      // client stays healthy, and this connection, its request cut short, is closed.
      const dropUpload = () => {
        if (body !== undefined && !body.readableEnded) {
          body.unpipe(outgoing);
          body.resume();
        }
        // A connection of its own (a large upload), or one whose upload met a reset: done with.
        if (headers.connection === "close" || outgoing.socket?.uploadRefused || !outgoing.writableFinished) outgoing.destroy();
      };
      answer.on("end", dropUpload);
      outgoing.on("close", dropUpload);
      resolve({ status: answer.statusCode, statusText: answer.statusMessage, headers: answerHeaders(answer.rawHeaders), body: answer });
    });
    outgoing.on("error", (error) => {
      if (!answered) reject(Object.assign(error, { reusedSocket: outgoing.reusedSocket }));
    });
    if (body === undefined) outgoing.end();
    else {
      // An upload cut short (the caller's client hung up) must reach the target as a broken
      // request, not as a complete one shorter than it said: the target then cleans up what it began.
      const declared = Number(headers["content-length"] ?? "NaN");
      let sent = 0;
      body.on("data", (chunk) => (sent += chunk.length));
      body.on("error", (error) => outgoing.destroy(error));
      body.on("end", () => {
        if (sent < declared) outgoing.destroy(new Error(`the upload ended after ${sent} of ${declared} bytes`));
        else outgoing.end();
      });
      body.pipe(outgoing, { end: false });
    }
  });
}

/** The answer's headers as [name, value] pairs, without the ones that belong to this connection. */
function answerHeaders(raw) {
  const pairs = [];
  for (let i = 0; i < raw.length; i += 2) if (!HOP_BY_HOP.has(raw[i].toLowerCase())) pairs.push([raw[i], raw[i + 1]]);
  return pairs;
}
