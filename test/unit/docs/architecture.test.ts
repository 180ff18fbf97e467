// docs/ARCHITECTURE.md must stay true to the code: every file it names exists, every layer of src/
// is described, and the import rule it states holds.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const doc = fs.readFileSync(path.join(ROOT, 'docs', 'ARCHITECTURE.md'), 'utf8');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('docs/ARCHITECTURE.md', () => {
  it('names only files that exist', () => {
    const named = new Set(doc.match(/\b[\w-]+(?:\/[\w.-]+)*\/[\w.-]+\.ts\b/g) ?? []);
    expect(named.size).toBeGreaterThan(20);
    const missing = [...named].filter(
      (p) => !fs.existsSync(path.join(ROOT, p)) && !fs.existsSync(path.join(ROOT, 'src', p)),
    );
    expect(missing).toEqual([]);
  });

  it('describes every directory of src/ and every engine module', () => {
    const dirs = fs.readdirSync(path.join(ROOT, 'src'), { withFileTypes: true }).filter((e) => e.isDirectory());
    expect(dirs.filter((d) => !doc.includes(`${d.name}/`)).map((d) => d.name)).toEqual([]);
    const engine = fs.readdirSync(path.join(ROOT, 'src', 'engine')).filter((f) => f.endsWith('.ts'));
    expect(engine.filter((f) => !doc.includes(f))).toEqual([]);
  });

  it('states a rule the code keeps: only transport/ imports ssh2, types included', () => {
    expect(doc).toContain('Only `transport/` imports `ssh2`, types included');
    const offenders = sourceFiles(path.join(ROOT, 'src'))
      .filter((f) => !f.includes(`${path.sep}transport${path.sep}`))
      .filter((f) => /^import [^;]*from 'ssh2(?:-sftp-client)?'/m.test(fs.readFileSync(f, 'utf8')));
    expect(offenders.map((f) => path.relative(ROOT, f))).toEqual([]);
  });
});
