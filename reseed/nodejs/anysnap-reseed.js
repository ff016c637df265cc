'use strict';
// anysnap-reseed: refreshes a Node.js process's random state after each
// SnapStart restore. Every environment restored from one snapshot resumes the
// same memory, so without this they all draw the same values from OpenSSL's
// generator, crypto.randomUUID's cache and Math.random.
//
// anysnap-wrapper loads it under snap-start only, through
// NODE_OPTIONS=--require (wrapper/reseed_preload.h); the function changes
// nothing. In the main thread of each Node.js process started during init it:
//
// - gives NODE_OPTIONS back the value the function set, so processes the
//   function starts later (they are never restored) do not load it;
// - replaces Math.random with a generator of the same contract (a double in
//   [0, 1), uniform, not for cryptography): xoshiro128** seeded from the
//   kernel, at once and again after each restore. V8's own generator keeps its
//   state where JavaScript cannot reseed it. It is replaced before the
//   function's code loads, so a reference kept by a library is this one too;
//   Math.random[Symbol.for('anysnap.reseed.peek')](n) gives the next n values
//   without drawing them (for tests);
// - registers with the delegator's hook channel as a reseed client
//   (docs/hook-channel.md), synchronously, before the function's code runs:
//   that makes the delegator hold the runtime's first invocation/next;
// - when the delegator asks for after-restore (before any after-restore hook
//   and before the first invoke), reseeds on this thread:
//     OpenSSL: RAND_add with bytes from getrandom(2), by the native addon
//       anysnap_reseed.node beside this file (crypto.randomBytes,
//       crypto.getRandomValues, webcrypto, TLS: every thread's generator
//       reseeds from OpenSSL's primary one on its next use);
//     crypto.randomUUID: its cache holds 128 ids drawn before the snapshot;
//       the first call after the restore (crypto.randomUUID or webcrypto's,
//       which share the cache) first draws a whole batch, so that the cache
//       refills from the reseeded OpenSSL before any id is given out: off
//       the way to the first invoke, and only in functions that make ids;
//     Math.random: a new seed from /dev/urandom;
//   and reports what it reseeded and what it could not (with why).
//
// It needs channel.js beside it: the hook channel's client code, one file with
// anysnap-hooks's. Log lines go to stderr, prefixed "anysnap-reseed:". No other
// dependencies.

const AFTER_RESTORE = 'after-restore';
// Node.js's randomUUID cache (lib/internal/crypto/random.js, kBatchSize).
const UUID_BATCH = 128;
const PEEK = Symbol.for('anysnap.reseed.peek');

function log(line) {
  process.stderr.write(`anysnap-reseed: ${line}\n`);
}

// NODE_OPTIONS as the function set it: the wrapper appended
// ` --require "<this file>"`.
function restoreNodeOptions() {
  const options = process.env.NODE_OPTIONS;
  if (typeof options !== 'string') return;
  const mine = `--require "${__filename.replace(/[\\"]/g, '\\$&')}"`;
  if (options === mine) {
    delete process.env.NODE_OPTIONS;
  } else if (options.endsWith(` ${mine}`)) {
    process.env.NODE_OPTIONS = options.slice(0, -(mine.length + 1));
  }
}

const fs = require('fs');

// The hook channel's client code (channel.js), shared with anysnap-hooks: the
// build copies it beside this file (reseed/CMakeLists.txt), and main() loads it
// from there, whatever NODE_PATH holds, in the main thread only. Without it the
// process goes on, with one line saying it is not reseeded.
let channel;

// /dev/urandom, opened once (close-on-exec) and kept: every later seed is a
// read, so the snapshot-safety audit sees the reseed open it exactly once.
let urandom = -1;

// 16 bytes from the kernel, as four 32-bit words.
function kernelWords() {
  const words = new Uint32Array(4);
  if (urandom < 0) urandom = fs.openSync('/dev/urandom', 'r');
  fs.readSync(urandom, new Uint8Array(words.buffer), 0, 16, null);
  return words;
}

// Math.random's replacement: xoshiro128** (Blackman and Vigna), 53-bit doubles.
function installMathRandom() {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const seed = () => {
    const w = kernelWords();
    [s0, s1, s2, s3] = [w[0] | 0, w[1] | 0, w[2] | 0, w[3] | 0];
    if ((s0 | s1 | s2 | s3) === 0) s0 = 1; // the one state that never moves
  };
  const rotl = (x, k) => (x << k) | (x >>> (32 - k));
  const next = () => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
  const double = () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
  const random = { random: () => double() }.random; // named "random", no prototype
  Object.defineProperty(random, PEEK, {
    value: (n) => {
      const saved = [s0, s1, s2, s3];
      const values = Array.from({ length: n }, double);
      [s0, s1, s2, s3] = saved;
      return values;
    },
  });
  seed();
  Object.defineProperty(Math, 'random', { value: random, writable: true, configurable: true, enumerable: false });
  return seed;
}

// One exchange on `socket` (connected or connecting): the request written
// once it is connected, the answer read until the delegator closes.
function exchange(socket, request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const send = () => socket.write(request);
    if (socket.connecting) socket.once('connect', send);
    else send();
    socket.on('data', (c) => chunks.push(c));
    socket.once('end', () => {
      socket.destroy();
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(text.slice(0, text.indexOf('\r\n')).split(' ')[1]);
      if (!Number.isInteger(status)) return reject(new Error('no HTTP answer'));
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('connection closed')));
  });
}

// A connection to the delegator (unref'd: it never keeps the process alive).
function connect(api) {
  const socket = require('net').connect(api.port, api.host);
  socket.unref();
  return socket;
}

// The report's connection, opened during init: after the restore the report
// is one write on it, with no connect, accept or new server thread on the way
// to the first invoke. A loopback connection inside the snapshot comes back
// with it (Lambda snapshots the whole VM; CRIU restores it, --tcp-established).
// Used once; a broken one is replaced by a new connection.
let prepared = null;

function prepareReportConnection(api) {
  prepared = connect(api);
  prepared.once('error', () => {
    prepared = null;
  });
}

// GETs `path` on a plain socket (pollPhase's get function), as postReport
// POSTs: after the restore, the poll's answer is read by this code, which ran
// during init (warmUp), not by the http module's, which never had.
function getOnSocket(api, path) {
  return exchange(connect(api), `GET ${path} HTTP/1.1\r\nHost: ${api.display}\r\nConnection: close\r\n\r\n`);
}

// One whole exchange with the delegator during init, its answer read and
// parsed: the code that reads the poll's answer and sends the report after
// the restore is compiled by then, not on the way to the first invoke.
function warmUp(api, id) {
  // The report's own path, up to the socket: built and handed to a post
  // function that sends nothing.
  const unsent = (a, path, body) => Promise.resolve({ status: 204, body: postRequest(a, path, body) });
  return Promise.all([
    getOnSocket(api, `${channel.PREFIX}/warm-up`).catch(() => {}),
    channel.sendReport(api, id, AFTER_RESTORE, { ok: true, reseeded: [], not_reseeded: [] }, unsent),
  ]);
}

// POSTs a report on a plain socket (sendReport's post function): the http
// module's client code for a request with a body would first run here, after
// the restore, and compiling it then cost milliseconds on the way to the
// first invoke (the poll, a GET, runs during init). Resolves {status, body};
// rejects when the connection breaks.
function postReport(api, path, body) {
  const socket = prepared ?? connect(api);
  prepared = null;
  socket.removeAllListeners('error');
  return exchange(socket, postRequest(api, path, body));
}

function postRequest(api, path, body) {
  return (
    `POST ${path} HTTP/1.1\r\nHost: ${api.display}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

// The native addon, loaded during init (not in the restore's time): its
// exports, or why it did not load.
function loadAddon() {
  try {
    const addon = { exports: {} };
    process.dlopen(addon, require('path').join(__dirname, 'anysnap_reseed.node'));
    return { reseed: addon.exports.reseed };
  } catch (e) {
    return { error: `its addon did not load: ${e.message.split('\n')[0]}` };
  }
}

// The reseed itself; returns the report for the delegator.
// Wraps crypto.randomUUID and webcrypto's crypto.randomUUID (Node.js's share
// one cache) so that the first call after markStale() draws a whole batch
// first. Returns markStale.
function wrapRandomUUID(crypto) {
  let stale = false;
  const original = crypto.randomUUID;
  const drain = () => {
    stale = false;
    for (let i = 0; i < UUID_BATCH; i++) original.call(crypto);
  };
  // Method shorthand: like the originals, not constructible, same length.
  crypto.randomUUID = {
    randomUUID(options) {
      if (stale) drain();
      return original.call(crypto, options);
    },
  }.randomUUID;
  const web = globalThis.crypto;
  if (web && typeof web.randomUUID === 'function') {
    const proto = Object.getPrototypeOf(web);
    const webOriginal = proto.randomUUID;
    proto.randomUUID = {
      randomUUID() {
        if (stale) drain();
        return webOriginal.call(this);
      },
    }.randomUUID;
  }
  return () => {
    stale = true;
  };
}

function reseedAll(addon, reseedMathRandom, markUUIDStale) {
  const reseeded = [];
  const notReseeded = [];
  let openssl = addon.error ?? null;
  if (addon.reseed) {
    try {
      openssl = addon.reseed();
    } catch (e) {
      openssl = e.message;
    }
  }
  if (openssl === null) {
    reseeded.push('OpenSSL');
    try {
      markUUIDStale();
      reseeded.push('crypto.randomUUID');
    } catch (e) {
      notReseeded.push(`crypto.randomUUID (${e.message})`);
    }
  } else {
    notReseeded.push(`OpenSSL (${openssl})`);
    notReseeded.push('crypto.randomUUID (its cache refills from OpenSSL)');
  }
  try {
    reseedMathRandom();
    reseeded.push('Math.random');
  } catch (e) {
    notReseeded.push(`Math.random (${e.message})`);
  }
  return { ok: true, reseeded, not_reseeded: notReseeded };
}

// Sends the after-restore report; a broken connection is tried again a few times.
async function report(api, id, phase, outcome) {
  const sent = await channel.sendReport(api, id, phase, outcome, postReport);
  if (sent.error) log(`report not delivered (${sent.error})`);
  else if (sent.answer.status !== 204) log(`report refused (${sent.answer.status} ${sent.answer.body})`);
}

// The long poll: reseeds when the delegator asks, then stops.
async function serve(api, id, reseed) {
  await warmUp(api, id);
  for (;;) {
    const next = await channel.pollPhase(api, id, getOnSocket);
    if (next.refused) {
      const { status, body } = next.refused;
      log(`phase poll refused (${status} ${body}): this process is not reseeded after restore`);
      return;
    }
    if (next.phase === 'done') return;
    if (next.phase !== AFTER_RESTORE) {
      await report(api, id, next.phase, { ok: true, reseeded: [], not_reseeded: [] });
      continue;
    }
    // A process is restored once: after this report nothing is left to do,
    // and not polling again keeps the delegator's path to the first invoke short.
    await report(api, id, AFTER_RESTORE, reseed());
    return;
  }
}

function main() {
  if (!require('worker_threads').isMainThread) return;
  restoreNodeOptions();
  const reseedMathRandom = installMathRandom();
  const crypto = require('crypto');
  const markUUIDStale = wrapRandomUUID(crypto);
  try {
    channel = require('./channel.js');
  } catch (e) {
    log(`channel.js did not load (${e.message.split('\n')[0]}): this process is not reseeded after restore`);
    return;
  }
  const api = channel.runtimeApi();
  if (!api) return; // not behind a Runtime API: nothing will restore this process
  const answer = channel.postSync(
    api,
    `${channel.PREFIX}/clients`,
    JSON.stringify({ language: 'nodejs', pid: process.pid, reseed: true }),
  );
  if (answer.error) {
    log(`cannot register with anysnap (${answer.error}): this process is not reseeded after restore`);
    return;
  }
  // 404: no delegator in front; 409: init has ended, so this process was
  // started after the snapshot and holds nothing it shares.
  if (answer.status === 404 || answer.status === 409) return;
  const client = answer.status === 201 ? channel.parseJson(answer.body) : undefined;
  if (!client || typeof client.id !== 'string' || !Array.isArray(client.phases)) {
    log(`registration refused (${answer.status} ${answer.body}): this process is not reseeded after restore`);
    return;
  }
  if (!client.phases.includes(AFTER_RESTORE)) return;
  const addon = loadAddon();
  const reseed = () => reseedAll(addon, reseedMathRandom, markUUIDStale);
  reseed(); // once during init too: its code is compiled before the snapshot
  prepareReportConnection(api);
  serve(api, client.id, reseed).catch((e) =>
    log(`stopped: ${e.message}: this process is not reseeded after restore`),
  );
}

main();
