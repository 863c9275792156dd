// A minimal stand-in for the parts of vitest the conformance files use (describe, it, beforeAll, afterAll and
// the expect matchers they call), so that they run as one bundled program where only node exists: the GPU machine.
import { isDeepStrictEqual } from 'node:util';

const tests = [];
const befores = [];
const afters = [];
const prefix = [];
export function describe(name, fn) {
  prefix.push(name);
  fn();
  prefix.pop();
}
describe.skipIf = (c) => (c ? () => {} : describe);
export function it(name, fn) {
  tests.push({ name: [...prefix, name].join(' > '), fn, befores: [...befores] });
}
it.skip = () => {};
export function beforeAll(fn) {
  befores.push(fn);
}
export function afterAll(fn) {
  afters.push(fn);
}
function fail(msg) {
  throw new Error(msg);
}
function matches(err, want) {
  const m = String(err?.message ?? err);
  if (want === undefined) return true;
  if (want instanceof RegExp) return want.test(m);
  return m.includes(String(want));
}
export function expect(actual, label = '') {
  const p = label ? `${label}: ` : '';
  const api = {
    toBe: (e) => Object.is(actual, e) || fail(`${p}expected ${String(actual)} to be ${String(e)}`),
    toEqual: (e) =>
      isDeepStrictEqual(actual, e) || fail(`${p}expected ${JSON.stringify(actual)} to equal ${JSON.stringify(e)}`),
    toBeLessThan: (e) => actual < e || fail(`${p}expected ${actual} < ${e}`),
    toBeGreaterThan: (e) => actual > e || fail(`${p}expected ${actual} > ${e}`),
    toThrow: (want) => {
      try {
        actual();
      } catch (err) {
        if (matches(err, want)) return;
        fail(`${p}threw "${err?.message}", expected ${want}`);
      }
      fail(`${p}did not throw (expected ${want})`);
    },
    rejects: {
      toThrow: async (want) => {
        try {
          await (typeof actual === 'function' ? actual() : actual);
        } catch (err) {
          if (matches(err, want)) return;
          fail(`${p}rejected "${err?.message}", expected ${want}`);
        }
        fail(`${p}did not reject (expected ${want})`);
      },
    },
  };
  return api;
}
export async function runAll(filter) {
  let passed = 0,
    failed = 0;
  const ranBefore = new Set();
  for (const t of tests) {
    if (filter && !filter.test(t.name)) continue;
    for (const b of t.befores)
      if (!ranBefore.has(b)) {
        ranBefore.add(b);
        await b();
      }
    const t0 = performance.now();
    try {
      await t.fn();
      passed++;
      console.log(`ok   ${(performance.now() - t0).toFixed(0).padStart(6)} ms  ${t.name}`);
    } catch (e) {
      failed++;
      console.log(
        `FAIL ${(performance.now() - t0).toFixed(0).padStart(6)} ms  ${t.name}\n     ${String(e?.message ?? e)
          .split('\n')[0]
          .slice(0, 400)}`,
      );
    }
  }
  for (const a of afters) {
    try {
      await a();
    } catch (e) {
      failed++;
      console.log(`FAIL afterAll: ${e?.message}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed;
}
