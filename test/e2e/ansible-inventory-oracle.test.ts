// Ansible inventories read as Ansible reads them: for every file of test/fixtures/inventories/ansible,
// `herd hosts --json` gives the hosts, groups (with their ancestors) and variables that
// `ansible-inventory -i FILE --list` gives, and `herd hosts --graph` prints what `ansible-inventory
// --graph` prints. Files under refused/ hold connection variables herd does not honour: Ansible reads
// them, herd refuses them (exit 2, naming file:line:column and the variable). ansible-core is installed
// by .ci/setup; without it this file skips, saying so.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, removeScratchDirs, runHerd, scratchDir } from './herd-cli.js';

const CORPUS = path.join(ROOT, 'test', 'fixtures', 'inventories', 'ansible');
const home = scratchDir();
afterAll(() => removeScratchDirs());

function hasAnsible(): boolean {
  try {
    execFileSync('ansible-inventory', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const ANSIBLE = hasAnsible();
if (!ANSIBLE)
  console.warn('ansible-inventory not found: skipping the Ansible inventory oracle (.ci/setup installs ansible-core)');

type Vars = Record<string, unknown>;
interface HostView {
  groups: string[];
  vars: Vars;
}

/** ansible-inventory, strict: an inventory Ansible cannot parse fails instead of becoming "localhost only". */
function ansible(args: string[]): string {
  return execFileSync('ansible-inventory', args, {
    encoding: 'utf8',
    env: {
      ...process.env,
      HOME: home,
      ANSIBLE_INVENTORY_ENABLED: 'ini,yaml',
      ANSIBLE_INVENTORY_UNPARSED_FAILED: 'true',
      ANSIBLE_NOCOLOR: '1',
    },
  });
}

/** Each host of `--list` with every group it is in (ancestors too, but not `all`) and its merged variables. */
function ansibleView(file: string): Map<string, HostView> {
  const list = JSON.parse(ansible(['-i', file, '--list'])) as Record<
    string,
    { hosts?: string[]; children?: string[]; hostvars?: Record<string, Vars> }
  >;
  const parents = new Map<string, string[]>();
  for (const [g, node] of Object.entries(list))
    for (const c of node.children ?? []) parents.set(c, [...(parents.get(c) ?? []), g]);
  const closure = (g: string): string[] => [g, ...(parents.get(g) ?? []).flatMap(closure)];
  const view = new Map<string, HostView>();
  for (const [g, node] of Object.entries(list)) {
    if (g === '_meta') continue;
    for (const h of node.hosts ?? []) {
      const v = view.get(h) ?? { groups: [], vars: list._meta!.hostvars![h] ?? {} };
      for (const a of closure(g)) if (a !== 'all' && !v.groups.includes(a)) v.groups.push(a);
      view.set(h, v);
    }
  }
  return view;
}

function sorted(view: Map<string, HostView>): [string, HostView][] {
  return [...view]
    .map(([h, v]) => [h, { groups: [...v.groups].sort(), vars: v.vars }] as [string, HostView])
    .sort(([a], [b]) => (a < b ? -1 : 1));
}

const accepted = fs.readdirSync(CORPUS).filter((f) => f.endsWith('.ini') || f.endsWith('.yml'));
const refused = fs.readdirSync(path.join(CORPUS, 'refused'));

describe.skipIf(!ANSIBLE)('herd hosts against ansible-inventory', () => {
  it.each(accepted)('reads %s with the hosts, groups and variables ansible-inventory --list gives', async (name) => {
    const file = path.join(CORPUS, name);
    const herd = await runHerd(['hosts', '-i', file, '--json'], { env: { HOME: home } });
    expect(herd).toMatchObject({ code: 0, stderr: '' });
    const mine = new Map<string, HostView>();
    for (const line of herd.stdout.trim().split('\n')) {
      const h = JSON.parse(line) as { id: string; name?: string; groups: string[]; vars?: Vars };
      mine.set(h.name ?? h.id, { groups: h.groups, vars: h.vars ?? {} });
    }
    expect(sorted(mine)).toEqual(sorted(ansibleView(file)));
  });

  it.each(accepted)('draws %s as ansible-inventory --graph does', async (name) => {
    const file = path.join(CORPUS, name);
    const herd = await runHerd(['hosts', '-i', file, '--graph'], { env: { HOME: home } });
    expect(herd).toMatchObject({ code: 0, stderr: '' });
    expect(herd.stdout).toBe(ansible(['-i', file, '--graph']));
  });

  it.each(refused)('refuses refused/%s, which Ansible reads, naming the variable (exit 2)', async (name) => {
    const file = path.join(CORPUS, 'refused', name);
    expect(ansibleView(file).size).toBeGreaterThan(0);
    const herd = await runHerd(['hosts', '-i', file], { env: { HOME: home } });
    expect(herd.code).toBe(2);
    expect(herd.stdout).toBe('');
    const variable = fs.readFileSync(file, 'utf8').match(/ansible_[a-z_]+/)![0];
    expect(herd.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: .*${variable}`));
  });
});
