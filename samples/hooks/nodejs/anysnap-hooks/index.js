'use strict';
// anysnap-hooks: before-snapshot and after-restore hooks for Node.js functions
// that run on anysnap, in the manner of AWS's Python `snapshot_restore_py`.
//
//   const { registerBeforeSnapshot, registerAfterRestore } = require('anysnap-hooks');
//   registerBeforeSnapshot(async function closePool() { await pool.end(); });
//   registerAfterRestore(function reseed() { instanceId = crypto.randomUUID(); });
//
// The hooks run when anysnap's delegator asks for them, through its hook channel
// (docs/hook-channel.md): served on AWS_LAMBDA_RUNTIME_API under /anysnap/v1/.
//
// - The first registration registers this process with the delegator, and does
//   so synchronously: the delegator must know of the client before the runtime's
//   first invocation/next, and function code registers hooks while it loads,
//   before the runtime goes on. A worker thread makes the request while this
//   thread waits on a SharedArrayBuffer (at most REGISTER_TIMEOUT_MS).
// - When the delegator wants phases run, they are awaited for on this thread's
//   event loop with a long poll whose socket is unref'd: the client never keeps
//   a process alive.
// - Before-snapshot hooks run in reverse registration order, after-restore hooks
//   in registration order, each awaited before the next starts. The first hook
//   that throws (or rejects) ends the phase, and the report names it.
// - Without a delegator (a plain Runtime API answers 404, nothing listens, or
//   AWS_LAMBDA_RUNTIME_API is unset) hooks never run: one warning line on stderr
//   and the function goes on.
//
// Log lines go to stderr, prefixed "anysnap-hooks:". No dependencies.

const http = require('http');
const { Worker } = require('worker_threads');

const PREFIX = '/anysnap/v1';
const BEFORE_SNAPSHOT = 'before-snapshot';
const AFTER_RESTORE = 'after-restore';
const REGISTER_TIMEOUT_MS = 5000;
// The channel's bodies are at most 64 KiB; an answer is read into this much.
const MAX_BODY = 64 * 1024;
// Re-poll delays after a broken poll connection (as across a snapshot).
const REPOLL_FIRST_MS = 50;
const REPOLL_MAX_MS = 1000;
// Longest hook name and error message put in a report.
const MAX_NAME = 256;
const MAX_MESSAGE = 8192;

const hooks = new Map([
  [BEFORE_SNAPSHOT, []],
  [AFTER_RESTORE, []],
]);
// 'new' until the first registration, then 'active' (phases to run), 'idle'
// (no phase will ever run here) or 'off' (no delegator, or too late).
let state = 'new';

function log(line) {
  process.stderr.write(`anysnap-hooks: ${line}\n`);
}

function hookName(fn) {
  return (fn.name || '(anonymous)').slice(0, MAX_NAME);
}

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

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// "409 Anysnap.TooLate: init has ended" from an answer in the channel's error shape.
function describeAnswer(answer) {
  const e = parseJson(answer.body);
  if (e && typeof e.errorType === 'string') {
    return `${answer.status} ${e.errorType}${e.errorMessage ? `: ${e.errorMessage}` : ''}`;
  }
  return String(answer.status);
}

// Registers this process with the delegator; on success, starts serving phases.
function register(kind, fn) {
  const what = `${kind} hook ${hookName(fn)}`;
  const api = runtimeApi();
  if (!api) {
    state = 'off';
    const value = process.env.AWS_LAMBDA_RUNTIME_API;
    log(
      value
        ? `AWS_LAMBDA_RUNTIME_API=${value} is not host:port: ${what} will not run`
        : `AWS_LAMBDA_RUNTIME_API is not set (not on Lambda?): ${what} will not run`,
    );
    return;
  }
  const body = JSON.stringify({ language: 'nodejs', pid: process.pid });
  const answer = postSync(api, `${PREFIX}/clients`, body);
  if (answer.error) {
    state = 'off';
    log(`no anysnap delegator at ${api.display} (${answer.error}): ${what} will not run`);
    return;
  }
  if (answer.status === 404) {
    state = 'off';
    log(`no anysnap delegator at ${api.display} (404 from the Runtime API): ${what} will not run`);
    return;
  }
  if (answer.status === 409) {
    state = 'off';
    log(`${what} registered too late (${describeAnswer(answer)}): it will never run`);
    return;
  }
  const client = answer.status === 201 ? parseJson(answer.body) : undefined;
  if (!client || typeof client.id !== 'string' || !Array.isArray(client.phases)) {
    state = 'off';
    log(`registration refused (${describeAnswer(answer)}): ${what} will not run`);
    return;
  }
  if (client.phases.length === 0) {
    state = 'idle';
    return;
  }
  state = 'active';
  servePhases(api, client.id).catch((e) => log(`stopped serving phases: ${e.message}`));
}

// One request on this thread's event loop, on a socket that never keeps the
// process alive. Resolves {status, body}; rejects when the connection breaks.
function request(api, method, path, body) {
  return new Promise((resolve, reject) => {
    const headers = {};
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const req = http.request(
      { host: api.host, port: api.port, path, method, headers, agent: false },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('socket', (socket) => socket.unref());
    req.on('error', reject);
    req.end(body);
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function errorType(error) {
  if (error !== null && error !== undefined) {
    const name = Object(error).constructor && Object(error).constructor.name;
    if (name) return name;
  }
  return 'Error';
}

function errorMessage(error) {
  const message = error instanceof Error ? error.message : String(error);
  return message.slice(0, MAX_MESSAGE);
}

// Runs the hooks of `phase`, each awaited; returns the report to send.
async function runPhase(phase) {
  const list = [...(hooks.get(phase) || [])];
  if (phase === BEFORE_SNAPSHOT) list.reverse();
  for (const fn of list) {
    try {
      await fn();
    } catch (error) {
      const report = { ok: false, hook: hookName(fn), errorType: errorType(error), errorMessage: errorMessage(error) };
      log(`${phase} hook ${report.hook} failed: ${report.errorType}: ${report.errorMessage}`);
      return report;
    }
  }
  return { ok: true, hooks: list.length };
}

// Sends a phase's report; a broken connection is retried a few times.
async function report(api, id, phase, outcome) {
  const path = `${PREFIX}/clients/${encodeURIComponent(id)}/phase/${encodeURIComponent(phase)}`;
  const body = JSON.stringify(outcome);
  for (let attempt = 1, delay = REPOLL_FIRST_MS; ; attempt++, delay = Math.min(2 * delay, REPOLL_MAX_MS)) {
    try {
      const answer = await request(api, 'POST', path, body);
      if (answer.status !== 204) log(`${phase} report refused (${describeAnswer(answer)})`);
      return;
    } catch (e) {
      if (attempt === 3) {
        log(`${phase} report not delivered (${e.code || e.message})`);
        return;
      }
      await sleep(delay);
    }
  }
}

// The long-poll loop: runs each phase the delegator asks for, until "done".
async function servePhases(api, id) {
  const path = `${PREFIX}/clients/${encodeURIComponent(id)}/phase`;
  let delay = REPOLL_FIRST_MS;
  for (;;) {
    let answer;
    try {
      answer = await request(api, 'GET', path);
    } catch {
      // Broken poll (e.g. across a snapshot): poll again.
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
    if (!message || typeof message.phase !== 'string') {
      log(`phase poll refused (${describeAnswer(answer)}): hooks will not run`);
      state = 'off';
      return;
    }
    if (message.phase === 'done') {
      state = 'idle';
      return;
    }
    if (!hooks.has(message.phase)) log(`unknown phase ${message.phase}: no hooks to run`);
    await report(api, id, message.phase, await runPhase(message.phase));
  }
}

function add(kind, fn) {
  if (typeof fn !== 'function') {
    const caller = kind === BEFORE_SNAPSHOT ? 'registerBeforeSnapshot' : 'registerAfterRestore';
    throw new TypeError(`anysnap-hooks: ${caller} needs a function, got ${typeof fn}`);
  }
  hooks.get(kind).push(fn);
  if (state === 'new') register(kind, fn);
}

// Registers `fn` (may be async) to run before the snapshot is taken: close
// connections, flush and drop caches, forget anything that must not be shared
// by every environment restored from the snapshot.
function registerBeforeSnapshot(fn) {
  add(BEFORE_SNAPSHOT, fn);
}

// Registers `fn` (may be async) to run after each restore, before the first
// event: re-open connections, re-seed unique ids and random state.
function registerAfterRestore(fn) {
  add(AFTER_RESTORE, fn);
}

module.exports = { registerBeforeSnapshot, registerAfterRestore };
