// Tests of the Node.js hook client (samples/hooks/nodejs/anysnap-hooks) against a
// fake hook channel: each test starts a Node.js process that uses the library,
// with AWS_LAMBDA_RUNTIME_API pointing at a server of this file that plays the
// delegator (docs/hook-channel.md) and records what the client asked.
//
// Run: node --test tests/hooks/nodejs_hooks_test.mjs
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageDir = path.resolve(here, '../../samples/hooks/nodejs/anysnap-hooks');

// A delegator's hook channel. `register`: the answer to the registration
// ({status, body}); `unanswered`: never answer it; `phases`: the phases to
// hand out, one per poll, then "done"; `brokenPolls`: how many polls to cut
// before answering one; `holdPolls`: never answer a poll; `plainApi`: answer
// 404 to everything, as the real Runtime API does. GET /anysnap-test/poll-open
// (not among `events`) answers once a phase poll has arrived. The runtime's
// invocation/next is held until "done" has been sent (as the delegator holds
// it), then answered.
class FakeChannel {
  constructor({ register, unanswered = false, phases = [], brokenPolls = 0, holdPolls = false, plainApi = false } = {}) {
    this.register = register ?? { status: 201, body: { id: '7', phases } };
    this.unanswered = unanswered;
    this.phases = [...phases];
    this.brokenPolls = brokenPolls;
    this.holdPolls = holdPolls;
    this.plainApi = plainApi;
    this.events = [];
    this.reports = [];
    this.heldNext = [];
    this.pollOpen = false;
    this.pollOpenWaiters = [];
    this.done = false;
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${this.server.address().port}`;
  }

  stop() {
    this.server.closeAllConnections();
    this.server.close();
  }

  handle(req, res) {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const json = (status, value) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (req.url === '/anysnap-test/poll-open') {
        if (this.pollOpen) json(200, true);
        else this.pollOpenWaiters.push(() => json(200, true));
        return;
      }
      this.events.push(`${req.method} ${req.url}`);
      if (this.plainApi || !req.url.startsWith('/anysnap/v1/') && !req.url.endsWith('/invocation/next')) {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('404 page not found');
      } else if (req.method === 'POST' && req.url === '/anysnap/v1/clients') {
        this.registration = JSON.parse(body);
        if (this.unanswered) return;
        json(this.register.status, this.register.body);
      } else if (req.method === 'GET' && req.url === '/anysnap/v1/clients/7/phase') {
        this.pollOpen = true;
        for (const answer of this.pollOpenWaiters.splice(0)) answer();
        if (this.holdPolls) return;
        if (this.brokenPolls > 0) {
          this.brokenPolls--;
          req.socket.destroy();
          return;
        }
        const phase = this.phases.shift() ?? 'done';
        json(200, { phase });
        if (phase === 'done') this.finish();
      } else if (req.method === 'POST' && req.url.startsWith('/anysnap/v1/clients/7/phase/')) {
        this.reports.push({ phase: req.url.split('/').pop(), ...JSON.parse(body) });
        res.writeHead(204);
        res.end();
      } else if (req.method === 'GET' && req.url === '/2018-06-01/runtime/invocation/next') {
        this.heldNext.push(res);
        if (this.done) this.finish();
      } else {
        json(404, { errorType: 'Anysnap.UnknownClient', errorMessage: req.url });
      }
    });
  }

  finish() {
    this.done = true;
    for (const res of this.heldNext.splice(0)) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"stop":true}');
    }
  }
}

// Runs `source` in a fresh Node.js process (ESM when `module`), from `cwd`.
// Resolves {code, stdout, stderr, lines}; `lines` are stdout's lines.
function runNode(source, { api, module = false, cwd = os.tmpdir(), env = {} } = {}) {
  const childEnv = { ...process.env, ...env };
  delete childEnv.AWS_LAMBDA_RUNTIME_API;
  delete childEnv.NODE_OPTIONS;
  if (api !== undefined) childEnv.AWS_LAMBDA_RUNTIME_API = api;
  const args = module ? ['--input-type=module', '-e', source] : ['-e', source];
  const child = spawn(process.execPath, args, { cwd, env: childEnv });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const killer = setTimeout(() => child.kill('SIGKILL'), 30000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, lines: stdout.split('\n').filter(Boolean) });
    });
  });
}

// A CommonJS prelude: the library, an `out` line printer, and `waitForNext()`,
// which asks for invocation/next as a runtime does and exits once answered.
const prelude = `
const hooks = require(${JSON.stringify(packageDir)});
const http = require('http');
const out = (line) => process.stdout.write(line + '\\n');
// Resolves on a later turn of the event loop: an async hook that truly waits.
const laterTurn = () => new Promise((r) => setImmediate(r));
function waitForNext() {
  http.get('http://' + process.env.AWS_LAMBDA_RUNTIME_API + '/2018-06-01/runtime/invocation/next',
    (res) => { res.resume(); res.on('end', () => out('next answered')); });
}
`;

function warnings(stderr) {
  return stderr.split('\n').filter((l) => l.startsWith('anysnap-hooks:'));
}

async function withChannel(options, fn) {
  const channel = new FakeChannel(options);
  const api = await channel.start();
  try {
    return await fn(channel, api);
  } finally {
    channel.stop();
  }
}

describe('anysnap-hooks for Node.js', { concurrency: true }, () => {
  test('registration completes before the call returns, without an event loop turn', () =>
    withChannel(
      { register: { status: 409, body: { errorType: 'Anysnap.TooLate', errorMessage: 'init has ended' } } },
      async (channel, api) => {
        // The answer's warning is written when the client has the answer: on
        // stderr before the line written right after the call returned.
        const r = await runNode(
          `${prelude}
          let turned = false;
          setImmediate(() => (turned = true));
          hooks.registerBeforeSnapshot(function first() {});
          process.stderr.write('returned; event loop turned: ' + turned + '\\n');`,
          { api },
        );
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.stderr.split('\n').filter(Boolean), [
          'anysnap-hooks: before-snapshot hook first registered too late (409 Anysnap.TooLate: init has ended): it will never run',
          'returned; event loop turned: false',
        ]);
        assert.deepEqual(channel.registration, { language: 'nodejs', pid: channel.registration.pid });
        assert.ok(Number.isInteger(channel.registration.pid));
      },
    ));

  test('an answer without phases: the client stops there and never polls', () =>
    withChannel({}, async (channel, api) => {
      const r = await runNode(`${prelude} hooks.registerBeforeSnapshot(function first() {}); out('loaded');`, { api });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, ['loaded']);
      assert.deepEqual(channel.events, ['POST /anysnap/v1/clients']);
      assert.deepEqual(warnings(r.stderr), []);
    }));

  test('runs before-snapshot hooks in reverse order and after-restore hooks in order, awaiting each', () =>
    withChannel({ phases: ['before-snapshot', 'after-restore'] }, async (channel, api) => {
      const r = await runNode(
        `${prelude}
        hooks.registerBeforeSnapshot(function a() { out('a'); });
        hooks.registerBeforeSnapshot(async function b() { out('b start'); await laterTurn(); out('b end'); });
        hooks.registerBeforeSnapshot(function c() { out('c'); });
        hooks.registerAfterRestore(async function x() { await laterTurn(); out('x'); });
        hooks.registerAfterRestore(() => { out('y'); return Promise.resolve(); });
        waitForNext();`,
        { api },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, ['c', 'b start', 'b end', 'a', 'x', 'y', 'next answered']);
      assert.deepEqual(channel.reports, [
        { phase: 'before-snapshot', ok: true, hooks: 3 },
        { phase: 'after-restore', ok: true, hooks: 2 },
      ]);
      assert.deepEqual(channel.events.filter((e) => !e.includes('/invocation/next')), [
        'POST /anysnap/v1/clients',
        'GET /anysnap/v1/clients/7/phase',
        'POST /anysnap/v1/clients/7/phase/before-snapshot',
        'GET /anysnap/v1/clients/7/phase',
        'POST /anysnap/v1/clients/7/phase/after-restore',
        'GET /anysnap/v1/clients/7/phase',
      ]);
    }));

  test('a failing hook ends its phase and the report names it', () =>
    withChannel({ phases: ['before-snapshot', 'after-restore'] }, async (channel, api) => {
      const r = await runNode(
        `${prelude}
        class PoolBusy extends Error {}
        hooks.registerBeforeSnapshot(function a() { out('a'); });
        hooks.registerBeforeSnapshot(function closePool() { throw new PoolBusy('pool busy'); });
        hooks.registerBeforeSnapshot(function c() { out('c'); });
        hooks.registerAfterRestore(async function reconnect() { await laterTurn(); throw new TypeError('no host'); });
        hooks.registerAfterRestore(function never() { out('never'); });
        waitForNext();`,
        { api },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, ['c', 'next answered']);
      assert.deepEqual(channel.reports, [
        { phase: 'before-snapshot', ok: false, hook: 'closePool', errorType: 'PoolBusy', errorMessage: 'pool busy' },
        { phase: 'after-restore', ok: false, hook: 'reconnect', errorType: 'TypeError', errorMessage: 'no host' },
      ]);
      assert.deepEqual(warnings(r.stderr), [
        'anysnap-hooks: before-snapshot hook closePool failed: PoolBusy: pool busy',
        'anysnap-hooks: after-restore hook reconnect failed: TypeError: no host',
      ]);
    }));

  test('polls again after a broken poll connection', () =>
    withChannel({ phases: ['before-snapshot'], brokenPolls: 2 }, async (channel, api) => {
      const r = await runNode(
        `${prelude}
        hooks.registerBeforeSnapshot(function a() { out('a'); });
        waitForNext();`,
        { api },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, ['a', 'next answered']);
      assert.deepEqual(channel.reports, [{ phase: 'before-snapshot', ok: true, hooks: 1 }]);
      const polls = channel.events.filter((e) => e === 'GET /anysnap/v1/clients/7/phase');
      assert.equal(polls.length, 4); // two cut, one answered, one answered "done"
      assert.deepEqual(warnings(r.stderr), []);
    }));

  test('an open poll never keeps the process alive', () =>
    withChannel({ phases: ['after-restore'], holdPolls: true }, async (channel, api) => {
      // Once the poll is open, the process ends by itself.
      const r = await runNode(
        `${prelude}
        hooks.registerAfterRestore(function a() {});
        http.get('http://' + process.env.AWS_LAMBDA_RUNTIME_API + '/anysnap-test/poll-open', (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => out('poll open: ' + body));
        });`,
        { api },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, ['poll open: true']);
      assert.deepEqual(channel.events, ['POST /anysnap/v1/clients', 'GET /anysnap/v1/clients/7/phase']);
    }));

  test('a plain Runtime API (404): hooks never run, one warning line', () =>
    withChannel({ plainApi: true }, async (channel, api) => {
      const r = await runNode(
        `${prelude}
        hooks.registerBeforeSnapshot(function closePool() { out('ran'); });
        hooks.registerAfterRestore(function reseed() { out('ran'); });
        out('loaded');`,
        { api },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, ['loaded']);
      assert.deepEqual(warnings(r.stderr), [
        `anysnap-hooks: no anysnap delegator at ${api} (404 from the Runtime API): before-snapshot hook closePool will not run`,
      ]);
      assert.deepEqual(channel.events, ['POST /anysnap/v1/clients']);
    }));

  test('nothing listening, or no AWS_LAMBDA_RUNTIME_API: one warning line', async () => {
    const closed = http.createServer();
    await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const api = `127.0.0.1:${closed.address().port}`;
    await new Promise((resolve) => closed.close(resolve));
    const source = `${prelude} hooks.registerAfterRestore(function reseed() {}); hooks.registerAfterRestore(function b() {}); out('loaded');`;
    const refused = await runNode(source, { api });
    assert.equal(refused.code, 0, refused.stderr);
    assert.deepEqual(refused.lines, ['loaded']);
    assert.deepEqual(warnings(refused.stderr), [
      `anysnap-hooks: no anysnap delegator at ${api} (ECONNREFUSED): after-restore hook reseed will not run`,
    ]);
    const unset = await runNode(source, {});
    assert.equal(unset.code, 0, unset.stderr);
    assert.deepEqual(unset.lines, ['loaded']);
    assert.deepEqual(warnings(unset.stderr), [
      'anysnap-hooks: AWS_LAMBDA_RUNTIME_API is not set (not on Lambda?): after-restore hook reseed will not run',
    ]);
  });

  test('registered too late (409): one warning line, no poll', () =>
    withChannel(
      { register: { status: 409, body: { errorType: 'Anysnap.TooLate', errorMessage: 'init has ended' } } },
      async (channel, api) => {
        const r = await runNode(
          `${prelude}
          hooks.registerAfterRestore(function reseed() { out('ran'); });
          hooks.registerBeforeSnapshot(function other() { out('ran'); });
          out('loaded');`,
          { api },
        );
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.lines, ['loaded']);
        assert.deepEqual(warnings(r.stderr), [
          'anysnap-hooks: after-restore hook reseed registered too late (409 Anysnap.TooLate: init has ended): it will never run',
        ]);
        assert.deepEqual(channel.events, ['POST /anysnap/v1/clients']);
      },
    ));

  test('a registration left unanswered gives up after 5 s', () =>
    withChannel({ unanswered: true }, async (channel, api) => {
      const r = await runNode(`${prelude} hooks.registerBeforeSnapshot(function a() {}); out('loaded');`, { api });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, ['loaded']);
      assert.deepEqual(warnings(r.stderr), [
        `anysnap-hooks: no anysnap delegator at ${api} (no answer within 5 s): before-snapshot hook a will not run`,
      ]);
    }));

  test('refuses a hook that is not a function', () =>
    withChannel({}, async (channel, api) => {
      const r = await runNode(
        `${prelude}
        try { hooks.registerBeforeSnapshot('x'); } catch (e) { out(e.constructor.name + ': ' + e.message); }`,
        { api },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, ['TypeError: anysnap-hooks: registerBeforeSnapshot needs a function, got string']);
      assert.deepEqual(channel.events, []);
    }));

  test("the package's files hold every module it loads", async () => {
    const r = await runNode(
      `require(${JSON.stringify(packageDir)});
      process.stdout.write(JSON.stringify(Object.keys(require.cache)));`,
    );
    assert.equal(r.code, 0, r.stderr);
    const loaded = JSON.parse(r.stdout)
      .filter((file) => file.startsWith(packageDir + path.sep))
      .map((file) => path.relative(packageDir, file))
      .sort();
    assert.deepEqual(loaded, ['channel.js', 'index.js']);
    const { files } = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
    for (const file of loaded) assert.ok(files.includes(file), `package.json "files" lacks ${file}`);
  });

  test('import and require share one registry', () =>
    withChannel({ phases: ['before-snapshot', 'after-restore'] }, async (channel, api) => {
      // A function folder with the package in its node_modules.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anysnap-hooks-esm-'));
      try {
        fs.mkdirSync(path.join(dir, 'node_modules'));
        fs.symlinkSync(packageDir, path.join(dir, 'node_modules', 'anysnap-hooks'));
        const r = await runNode(
          `
          import hooks, { registerBeforeSnapshot, registerAfterRestore } from 'anysnap-hooks';
          import { createRequire } from 'node:module';
          import http from 'node:http';
          const cjs = createRequire(process.cwd() + '/index.js')('anysnap-hooks');
          const out = (line) => process.stdout.write(line + '\\n');
          out(String(cjs.registerAfterRestore === registerAfterRestore && hooks.registerBeforeSnapshot === registerBeforeSnapshot));
          registerBeforeSnapshot(function esm() { out('esm'); });
          cjs.registerAfterRestore(function cjsHook() { out('cjs'); });
          http.get('http://' + process.env.AWS_LAMBDA_RUNTIME_API + '/2018-06-01/runtime/invocation/next',
            (res) => res.resume());`,
          { api, module: true, cwd: dir },
        );
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.lines, ['true', 'esm', 'cjs']);
        assert.equal(channel.events.filter((e) => e === 'POST /anysnap/v1/clients').length, 1);
        assert.deepEqual(channel.reports, [
          { phase: 'before-snapshot', ok: true, hooks: 1 },
          { phase: 'after-restore', ok: true, hooks: 1 },
        ]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }));
});
