// A Node.js function run by AWS's aws-lambda-ric, with a deliberately slow init
// and SnapStart hooks from anysnap-hooks.
//
// Init builds a table of the primes up to PRIME_LIMIT (default 30000000) by
// trial division: about 2 s of real CPU work whose result the handler uses, the
// kind of work a restore skips, since the table is in the snapshot.
//
// What must not be in a snapshot is handled by hooks:
// - before the snapshot: the keep-alive connection pool is closed (its sockets
//   would be dead after a restore) and the per-environment cache is emptied;
// - after each restore: a fresh instance id (every environment restored from
//   one snapshot would otherwise share the one made during init), a new pool,
//   and the time of the restore.
//
// Event: {"n": 12345}. Response: {"n":12345,"primesUpToN":1474,
// "largestPrimeUpToN":12343,"initMs":2034,"ids":{"perInvoke":"...",
// "init":"..."},"instanceId":"...","initAt":"...","restoredAt":null,
// "invokes":1}. An n that is not a whole number from 0 to
// PRIME_LIMIT is a Function.InvalidEvent error.
'use strict';

const crypto = require('crypto');
const http = require('http');
const { registerBeforeSnapshot, registerAfterRestore } = require('anysnap-hooks');

// --- Init -----------------------------------------------------------------------
const limit = Number(process.env.PRIME_LIMIT || 30000000);
if (!Number.isSafeInteger(limit) || limit < 2) {
  throw new Error(`PRIME_LIMIT=${process.env.PRIME_LIMIT} is not a whole number of at least 2`);
}

function primesUpTo(max) {
  const primes = [2];
  for (let n = 3; n <= max; n += 2) {
    for (let i = 0; ; i++) {
      const p = primes[i];
      if (p * p > n) {
        primes.push(n);
        break;
      }
      if (n % p === 0) break;
    }
  }
  return primes;
}

const initStart = process.hrtime.bigint();
const primes = primesUpTo(limit);
const initMs = Number((process.hrtime.bigint() - initStart) / 1000000n);
console.log(`init: ${primes.length} primes up to ${limit} in ${initMs} ms`);

// An id made during init and never remade: every environment restored from
// one snapshot answers the same one (compare instanceId, remade by a hook).
const initId = crypto.randomUUID();

// Per-environment state: what the hooks reset.
let instanceId = crypto.randomUUID();
let agent = new http.Agent({ keepAlive: true }); // for calls to other services
const initAt = new Date().toISOString();
let restoredAt = null;
let invokes = 0;
const answers = new Map(); // n -> count, filled by invokes

registerBeforeSnapshot(async function closeConnections() {
  agent.destroy();
  answers.clear();
  console.log('before snapshot: connection pool closed, cache emptied');
});

registerAfterRestore(function reseedInstance() {
  instanceId = crypto.randomUUID();
  agent = new http.Agent({ keepAlive: true });
  restoredAt = new Date().toISOString();
  invokes = 0;
  console.log(`after restore: instance ${instanceId}`);
});

// The number of table entries <= n (binary search).
function countUpTo(n) {
  let lo = 0;
  let hi = primes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (primes[mid] <= n) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

class InvalidEvent extends Error {
  constructor(message) {
    super(message);
    this.name = 'Function.InvalidEvent';
  }
}

// --- Invocations ----------------------------------------------------------------
exports.handler = async (event) => {
  const n = event && event.n;
  if (!Number.isSafeInteger(n) || n < 0 || n > limit) {
    throw new InvalidEvent(`expected {"n": 0..${limit}}`);
  }
  invokes += 1;
  let found = answers.get(n);
  if (found === undefined) {
    found = countUpTo(n);
    answers.set(n, found);
  }
  return {
    n,
    primesUpToN: found,
    largestPrimeUpToN: found > 0 ? primes[found - 1] : null,
    initMs,
    // A fresh id per invoke, drawn from Node's OpenSSL generator (and its
    // randomUUID cache), whose state a snapshot copies; and the init's one.
    ids: { perInvoke: crypto.randomUUID(), init: initId },
    instanceId,
    initAt,
    restoredAt,
    invokes,
  };
};
