// Tests of the Node.js reseed's preload (reseed/nodejs/anysnap-reseed.js) on
// its own, without a delegator: what it does to a process as it loads. It is
// loaded as the layer ships it: from the build's reseed folder, where
// channel.js sits beside it (ANYSNAP_RESEED_DIR, set by ctest; build/reseed).
//
// Run: node --test tests/hooks/reseed_nodejs_test.mjs
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const reseedDir = process.env.ANYSNAP_RESEED_DIR || path.resolve(here, '../../build/reseed');
const preload = path.join(reseedDir, 'nodejs', 'anysnap-reseed.js');

// NODE_OPTIONS's quoting, as anysnap-wrapper writes it (reseed_preload.cc).
const quote = (p) => `"${p.replace(/[\\"]/g, '\\$&')}"`;

// Runs `code` in a node whose NODE_OPTIONS ends with the reseed, as the
// wrapper sets it; returns what the code printed, parsed.
function run(code, { file = preload, userOptions = '' } = {}) {
  const env = { ...process.env };
  delete env.AWS_LAMBDA_RUNTIME_API;
  env.NODE_OPTIONS = `${userOptions}${userOptions ? ' ' : ''}--require ${quote(file)}`;
  return JSON.parse(execFileSync(process.execPath, ['-e', code], { env, encoding: 'utf8' }));
}

test('Math.random is replaced, keeps its contract, and its next values can be peeked', () => {
  const out = run(`
    const peek = Math.random[Symbol.for('anysnap.reseed.peek')];
    const ahead = peek(3);
    const drawn = [Math.random(), Math.random(), Math.random()];
    let min = 1, max = 0, sum = 0;
    const n = 200000;
    for (let i = 0; i < n; i++) { const x = Math.random(); min = Math.min(min, x); max = Math.max(max, x); sum += x; }
    const d = Object.getOwnPropertyDescriptor(Math, 'random');
    console.log(JSON.stringify({ ahead, drawn, min, max, mean: sum / n, name: Math.random.name,
      length: Math.random.length, writable: d.writable, enumerable: d.enumerable,
      distinct: new Set(Array.from({ length: 1000 }, Math.random)).size }));`);
  assert.deepEqual(out.ahead, out.drawn, 'peek gives the values Math.random then returns');
  assert.ok(out.min >= 0 && out.max < 1, `[${out.min}, ${out.max}] is within [0, 1)`);
  assert.ok(Math.abs(out.mean - 0.5) < 0.01, `mean ${out.mean}`);
  assert.equal(out.distinct, 1000);
  assert.equal(out.name, 'random');
  assert.equal(out.length, 0);
  assert.equal(out.writable, true);
  assert.equal(out.enumerable, false);
});

test('two processes start from different seeds', () => {
  const code = `console.log(JSON.stringify(Math.random[Symbol.for('anysnap.reseed.peek')](2)))`;
  assert.notDeepEqual(run(code), run(code));
});

test("NODE_OPTIONS is given back the function's own value, whatever the path holds", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reseed "quoted" dir '));
  try {
    const file = path.join(dir, 'anysnap-reseed.js');
    fs.copyFileSync(preload, file);
    fs.copyFileSync(path.join(path.dirname(preload), 'channel.js'), path.join(dir, 'channel.js'));
    const code = `console.log(JSON.stringify({ options: process.env.NODE_OPTIONS ?? null,
      replaced: typeof Math.random[Symbol.for('anysnap.reseed.peek')] }))`;
    assert.deepEqual(run(code, { file, userOptions: '--max-old-space-size=100' }), {
      options: '--max-old-space-size=100',
      replaced: 'function',
    });
    assert.deepEqual(run(code, { file }), { options: null, replaced: 'function' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('without channel.js beside it: Math.random is still replaced, one line says the process is not reseeded', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reseed-alone-'));
  try {
    const file = path.join(dir, 'anysnap-reseed.js');
    fs.copyFileSync(preload, file);
    const env = { ...process.env, NODE_OPTIONS: `--require ${quote(file)}` };
    delete env.AWS_LAMBDA_RUNTIME_API;
    const code = `console.log(typeof Math.random[Symbol.for('anysnap.reseed.peek')])`;
    const r = spawnSync(process.execPath, ['-e', code], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'function\n');
    assert.equal(
      r.stderr,
      "anysnap-reseed: channel.js did not load (Cannot find module './channel.js'): " +
        'this process is not reseeded after restore\n',
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
