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
//   thread waits on a SharedArrayBuffer (at most 5 s; channel.js).
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
// The channel's client code is channel.js, beside this file. Log lines go to
// stderr, prefixed "anysnap-hooks:". No dependencies.

const { PREFIX, runtimeApi, postSync, parseJson, pollPhase, sendReport } = require('./channel.js');

const BEFORE_SNAPSHOT = 'before-snapshot';
const AFTER_RESTORE = 'after-restore';
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

// Sends a phase's report; a broken connection is tried again a few times.
async function report(api, id, phase, outcome) {
  const sent = await sendReport(api, id, phase, outcome);
  if (sent.error) log(`${phase} report not delivered (${sent.error})`);
  else if (sent.answer.status !== 204) log(`${phase} report refused (${describeAnswer(sent.answer)})`);
}

// Runs each phase the delegator asks for, until "done".
async function servePhases(api, id) {
  for (;;) {
    const next = await pollPhase(api, id);
    if (next.refused) {
      log(`phase poll refused (${describeAnswer(next.refused)}): hooks will not run`);
      state = 'off';
      return;
    }
    if (next.phase === 'done') {
      state = 'idle';
      return;
    }
    if (!hooks.has(next.phase)) log(`unknown phase ${next.phase}: no hooks to run`);
    await report(api, id, next.phase, await runPhase(next.phase));
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
