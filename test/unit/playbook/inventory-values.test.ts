// Inventory values as template text, held to the real Ansible (ansible-core, see .ci/setup) and to
// Python's repr: the text `{{ v }}` gives in Ansible is the text herd puts into the shell.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readInventories } from '../../../src/inventory/index.js';
import { pythonFloatRepr, templateText } from '../../../src/playbook/inventory-values.js';

/** What Ansible renders for `{{ name }}` of each variable of host h1 in `inventory` (file named `file`). */
function ansibleRenders(file: string, inventory: string, names: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-ansible-values-'));
  try {
    const inv = path.join(dir, file);
    fs.writeFileSync(inv, inventory);
    const msg = `<${names.map((n) => `{{ ${n} }}`).join('|')}>`;
    const out = execFileSync('ansible', ['-i', inv, 'h1', '-c', 'local', '-m', 'debug', '-a', `msg=${msg}`], {
      encoding: 'utf8',
      // `minimal` is ansible-core's own (`json` is in the ansible.posix collection, which ansible-core does not
      // ship): `h1 | SUCCESS => {...}`, the result as JSON.
      env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_STDOUT_CALLBACK: 'minimal' },
    });
    const result = JSON.parse(out.slice(out.indexOf('{'))) as { msg: string };
    expect(out.startsWith('h1 | SUCCESS => {'), out).toBe(true);
    return result.msg;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What herd renders for the same variables, read by herd's own inventory reader. */
function herdRenders(file: string, inventory: string, names: string[]): string {
  const vars = readInventories([{ name: file, text: inventory }]).targets[0]!.vars ?? {};
  const texts = names.map((n) => {
    const t = templateText(vars[n]!);
    if (!t.ok) throw new Error(`${n}: ${t.why}`);
    return t.text;
  });
  return `<${texts.join('|')}>`;
}

describe('numbers and booleans render as the text Ansible gives them', () => {
  it('Ansible INI values (Python literals): the same text as ansible renders', () => {
    const values = {
      i: '5',
      neg: '-3',
      hex: '0x1F',
      f: '1.5',
      e: '1e-5',
      small: '2.5e-7',
      t: 'True',
      fa: 'False',
      s: 'abc',
    };
    const line = Object.entries(values)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const inventory = `[web]\nh1 ${line}\n`;
    const names = Object.keys(values);
    const expected = ansibleRenders('hosts.ini', inventory, names);
    expect(expected).toBe('<5|-3|31|1.5|1e-05|2.5e-07|True|False|abc>');
    expect(herdRenders('hosts.ini', inventory, names)).toBe(expected);
  });

  it('Ansible YAML values (YAML 1.1): the same text as ansible renders', () => {
    const inventory =
      'all:\n  hosts:\n    h1:\n      i: 5\n      f: 0.25\n      t: yes\n      fa: no\n      s: "007"\n';
    const names = ['i', 'f', 't', 'fa', 's'];
    const expected = ansibleRenders('hosts.yml', inventory, names);
    expect(expected).toBe('<5|0.25|True|False|007>');
    expect(herdRenders('hosts.yml', inventory, names)).toBe(expected);
  });

  it('a float renders as Python repr renders it (the text Ansible gives), for any float', () => {
    const samples = fc.sample(
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)),
      { numRuns: 300, seed: 15 },
    );
    const py = execFileSync('python3', ['-c', 'import sys\nfor l in sys.stdin: print(repr(float(l)))'], {
      input: samples.map((x) => x.toExponential() + '\n').join(''),
      encoding: 'utf8',
    });
    expect(samples.map(pythonFloatRepr)).toEqual(py.trimEnd().split('\n'));
  });
});

describe('values a template cannot take', () => {
  it('refuses None (Ansible would render it empty), lists and mappings, each saying why', () => {
    expect(templateText(null)).toEqual({ ok: false, why: expect.stringContaining('None') as string });
    expect(templateText(['a'])).toEqual({ ok: false, why: expect.stringContaining('a list') as string });
    expect(templateText({ a: 1 })).toEqual({ ok: false, why: expect.stringContaining('a mapping') as string });
  });
  it('refuses an integer beyond 2^53, whose digits would not be the ones written', () => {
    expect(templateText(2 ** 60)).toEqual({ ok: false, why: expect.stringContaining('quote it') as string });
  });
  it('keeps an empty string: it was written so', () => {
    expect(templateText('')).toEqual({ ok: true, text: '' });
  });
});

describe('the one documented difference from Ansible (README "Coming from Ansible", Variables)', () => {
  it('a float with nothing after the point (2.0) renders 2, where Ansible gives 2.0; as a string it stays 2.0', () => {
    expect(herdRenders('hosts.ini', `h1 a=2.0 b='"2.0"'\n`, ['a', 'b'])).toBe('<2|2.0>');
    expect(herdRenders('hosts.yml', 'all:\n  hosts:\n    h1:\n      a: 2.0\n      b: "2.0"\n', ['a', 'b'])).toBe(
      '<2|2.0>',
    );
  });
});
