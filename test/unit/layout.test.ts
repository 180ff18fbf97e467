// test/unit/ mirrors src/: the unit test of src/X/Y.ts is test/unit/X/Y.test.ts, so the tests of a
// module are found where it is, and a module without one shows as a gap. Suites about no one module
// are named here, each with its reason; a new one must be added on purpose.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const UNIT = path.join(ROOT, 'test', 'unit');

/** Suites that are about no single module (paths relative to test/unit/). */
const CROSS_CUTTING: Readonly<Record<string, string>> = {
  'layout.test.ts': 'this file: the layout of test/unit/ itself',
  'docs/architecture.test.ts': 'docs/ARCHITECTURE.md against the whole of src/',
  'fuzz/parsers.fuzz.test.ts': 'every parser of user files (inventory, playbook), fuzzed',
  'inventory/nodeset-oracle.test.ts': 'range expansion and folding together, against ClusterShell nodeset',
  'cli/options-table.test.ts': 'every option of every command names the test that proves it',
  'lint/import-rules.test.ts': 'the import boundaries of src/ as ESLint rules (eslint.config.js)',
  'results/record.ts': 'not a suite: the run record the tests that drive the real RunWriter give it',
};

function testFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return testFiles(p);
    return [path.relative(UNIT, p).split(path.sep).join('/')];
  });
}

/** The src/ module a test file mirrors: a/b.test.ts -> src/a/b.ts. */
function mirroredModule(testFile: string): string | null {
  const m = /^(.+)\.test\.ts$/.exec(testFile);
  return m ? `src/${m[1]}.ts` : null;
}

describe('test/unit/ layout', () => {
  const files = testFiles(UNIT);

  it('every unit test file is test/unit/X/Y.test.ts for a module src/X/Y.ts, or a named cross-cutting suite', () => {
    expect(files.length).toBeGreaterThan(30);
    const strays = files
      .filter((f) => !(f in CROSS_CUTTING))
      .filter((f) => {
        const mod = mirroredModule(f);
        return mod === null || !fs.existsSync(path.join(ROOT, mod));
      });
    expect(strays, 'move each to test/unit/<path of its module in src/>.test.ts, or name it in CROSS_CUTTING').toEqual(
      [],
    );
  });

  it('names only cross-cutting suites that exist', () => {
    expect(Object.keys(CROSS_CUTTING).filter((f) => !files.includes(f))).toEqual([]);
  });

  it('maps a test path to its module, and nothing else to one', () => {
    expect(mirroredModule('engine/job-queue.test.ts')).toBe('src/engine/job-queue.ts');
    expect(mirroredModule('errors.test.ts')).toBe('src/errors.ts');
    expect(mirroredModule('report/html/render.test.ts')).toBe('src/report/html/render.ts');
    expect(mirroredModule('engine/notes.md')).toBeNull();
    expect(mirroredModule('engine/helper.ts')).toBeNull();
  });
});
