'use strict';
// The client side of anysnap's hook channel (docs/hook-channel.md), served by
// the delegator on AWS_LAMBDA_RUNTIME_API under PREFIX: what anysnap-hooks
// (index.js) and anysnap's Node.js reseed (reseed/nodejs/anysnap-reseed.js,
// which the build copies this file beside) both need to talk to it.
//
// - runtimeApi() reads AWS_LAMBDA_RUNTIME_API as {host, port, display}, or
//   null when it is unset or not host:port.
// - postSync() POSTs a JSON body and waits for the answer on the calling
//   thread without running its event loop (a worker thread makes the request
//   while this one waits on a SharedArrayBuffer, at most REGISTER_TIMEOUT_MS):
//   registration must be done before the runtime goes on. Returns
//   {status, body} or {error} (one short phrase: an error code, a timeout).
// - request() makes one request on the event loop, on a socket that never
//   keeps the process alive; it resolves {status, body} and rejects when the
//   connection breaks.
// - pollPhase() waits for the next phase the delegator asks a client to run;
//   sendReport() sends the client's report on it.
// - parseJson() and sleep() (an unref'd timer) are the small rest.
//
// Node.js's own modules are required when first used, so loading this file
// costs a process nothing it does not use. Main thread or worker alike; no
// state. No dependencies.

const PREFIX = '/anysnap/v1';
const REGISTER_TIMEOUT_MS = 5000;
// The channel's bodies are at most 64 KiB; an answer is read into this much.
const MAX_BODY = 64 * 1024;
// Re-poll delays after a broken poll connection (as across a snapshot).
const REPOLL_FIRST_MS = 50;
const REPOLL_MAX_MS = 1000;

// host and port of AWS_LAMBDA_RUNTIME_API ("127.0.0.1:9001", "[::1]:9001").
function runtimeApi() {
  const value = process.env.AWS_LAMBDA_RUNTIME_API;
  if (!value) return null;
  const colon = value.lastIndexOf(':');
  if (colon <= 0) return null;
  const port = Number(value.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return null;
  return { host: value.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port, display: value };
}

// Runs in the worker thread: one request to the channel, whose outcome goes
// into the shared buffer: [0] done flag, [1] HTTP status (-1: no answer),
// [2] body length, then the body (or the error's code). Its modules come from
// import(), which works whether the worker's code is evaluated as CommonJS or
// as an ES module (as under --input-type=module, which workers inherit).
async function requestInWorker() {
  const { workerData } = await import('node:worker_threads');
  const { default: http } = await import('node:http');
  const { shared, host, port, path, body } = workerData;
  const head = new Int32Array(shared, 0, 3);
  const bytes = new Uint8Array(shared, 12);
  const finish = (status, data) => {
    const n = Math.min(data.length, bytes.length);
    bytes.set(data.subarray(0, n));
    head[1] = status;
    head[2] = n;
    Atomics.store(head, 0, 1);
    Atomics.notify(head, 0);
  };
  const fail = (e) => finish(-1, Buffer.from(e.code || e.message));
  try {
    const req = http.request(
      {
        host,
        port,
        path,
        method: 'POST',
        agent: false,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => finish(res.statusCode, Buffer.concat(chunks)));
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end(body);
  } catch (e) {
    fail(e); // e.g. a host that is no host name
  }
}

// POSTs `body` to `path` and waits for the answer on this thread, without
// running the event loop. Returns {status, body} or {error}.
function postSync(api, path, body) {
  const { Worker } = require('worker_threads');
  const shared = new SharedArrayBuffer(12 + MAX_BODY);
  const head = new Int32Array(shared, 0, 3);
  let worker;
  try {
    worker = new Worker(`(${requestInWorker})()`, {
      eval: true,
      workerData: { shared, host: api.host, port: api.port, path, body },
    });
  } catch (e) {
    return { error: `no worker thread (${e.message})` };
  }
  worker.unref();
  worker.on('error', () => {}); // a failure shows as no answer
  Atomics.wait(head, 0, 0, REGISTER_TIMEOUT_MS);
  const done = Atomics.load(head, 0) === 1;
  worker.terminate().catch(() => {});
  if (!done) return { error: `no answer within ${REGISTER_TIMEOUT_MS / 1000} s` };
  const data = Buffer.from(new Uint8Array(shared, 12, head[2])).toString('utf8');
  if (head[1] < 0) return { error: data };
  return { status: head[1], body: data };
}

// The value of a JSON text, or undefined when it is not one.
function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// One request on this thread's event loop, on a socket that never keeps the
// process alive. Resolves {status, body}; rejects when the connection breaks.
function request(api, method, path, body) {
  const http = require('http');
  return new Promise((resolve, reject) => {
    const headers = {};
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const req = http.request({ host: api.host, port: api.port, path, method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('socket', (socket) => socket.unref());
    req.on('error', reject);
    req.end(body);
  });
}

// Resolves after `ms`, on a timer that never keeps the process alive.
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

// The long poll for the next phase client `id` is to run: polled again after a
// broken connection (as across a snapshot; delays from REPOLL_FIRST_MS,
// doubling up to REPOLL_MAX_MS) or a 5xx answer (after REPOLL_MAX_MS).
// Resolves {phase}, or {refused: {status, body}} for an answer with no phase.
// `get(api, path)` makes the GET (request() by default).
async function pollPhase(api, id, get = (a, path) => request(a, 'GET', path)) {
  const path = `${PREFIX}/clients/${encodeURIComponent(id)}/phase`;
  let delay = REPOLL_FIRST_MS;
  for (;;) {
    let answer;
    try {
      answer = await get(api, path);
    } catch {
      await sleep(delay);
      delay = Math.min(2 * delay, REPOLL_MAX_MS);
      continue;
    }
    delay = REPOLL_FIRST_MS;
    if (answer.status >= 500) {
      await sleep(REPOLL_MAX_MS);
      continue;
    }
    const message = answer.status === 200 ? parseJson(answer.body) : undefined;
    if (!message || typeof message.phase !== 'string') return { refused: answer };
    return { phase: message.phase };
  }
}

function postOnEventLoop(api, path, body) {
  return request(api, 'POST', path, body);
}

// Sends client `id`'s report on `phase` (`outcome`, as JSON) with
// post(api, path, body), which resolves {status, body} and rejects when the
// connection breaks (request() by default); a broken connection is tried
// again, three tries in all. Resolves {answer}, or {error} (the last break's
// code or message).
async function sendReport(api, id, phase, outcome, post = postOnEventLoop) {
  const path = `${PREFIX}/clients/${encodeURIComponent(id)}/phase/${encodeURIComponent(phase)}`;
  const body = JSON.stringify(outcome);
  for (let attempt = 1, delay = REPOLL_FIRST_MS; ; attempt++, delay = Math.min(2 * delay, REPOLL_MAX_MS)) {
    try {
      return { answer: await post(api, path, body) };
    } catch (e) {
      if (attempt === 3) return { error: e.code || e.message };
      await sleep(delay);
    }
  }
}

module.exports = { PREFIX, runtimeApi, postSync, parseJson, request, sleep, pollPhase, sendReport };
