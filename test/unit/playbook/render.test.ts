// Every field that can hold `{{ }}`, rendered per host (and how); built-ins that are not shell-safe.
// (Fields refused at load time are in load.test.ts.)
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostVars, loadPlaybook, renderStep } from '../../../src/playbook/index.js';
import { regexEscape } from '../../../src/playbook/render.js';
import { renderTemplate } from '../../../src/playbook/template.js';
import type { Step } from '../../../src/playbook/types.js';

const exists = (p: string) => p.endsWith('/files/present.sh') || p.endsWith('/files/app/');
const load = (text: string, extraVars: Record<string, string> = {}) =>
  loadPlaybook({ file: '/pb/site.yml', text }, { fileExists: exists, extraVars });
const builtins = { host: 'web1', port: '2222', user: 'ops', run_id: '20261127T101010.000Z-ab12' };

/** Load a one-play playbook and render its first step for `web1`. */
function rendered(text: string, extraVars: Record<string, string> = {}, b = builtins): Step {
  const play = load(text, extraVars).plays[0]!;
  return renderStep(play.steps[0]!, hostVars(play, extraVars, b));
}

const VARS = 'vars: { dev: /dev/sdb }\nsteps:\n';

describe('rendered fields: one test per field', () => {
  it('run: values go into the shell text as they are', () => {
    expect(rendered(`${VARS}  - run: mkfs {{ dev }} -L {{ host }}\n`)).toMatchObject({ run: 'mkfs /dev/sdb -L web1' });
  });
  it('when: rendered raw, like run', () => {
    expect(rendered(`${VARS}  - run: x\n    when: test -b {{ dev }}\n`)).toMatchObject({ when: 'test -b /dev/sdb' });
  });
  it('unless: rendered raw, like run', () => {
    expect(rendered(`${VARS}  - run: x\n    unless: blkid {{ dev }}\n`)).toMatchObject({ unless: 'blkid /dev/sdb' });
  });
  it('creates: rendered (the engine shell-quotes the whole path)', () => {
    expect(rendered(`${VARS}  - run: x\n    creates: "/mnt/{{ host }}.done"\n`)).toMatchObject({
      creates: '/mnt/web1.done',
    });
  });
  it('removes: rendered (the engine shell-quotes the whole path)', () => {
    expect(rendered(`${VARS}  - run: x\n    removes: "{{ dev }}"\n`)).toMatchObject({ removes: '/dev/sdb' });
  });
  it('args: rendered raw after the uploaded script', () => {
    expect(rendered(`${VARS}  - script: files/present.sh\n    args: "{{ dev }} {{ port }}"\n`)).toMatchObject({
      args: '/dev/sdb 2222',
    });
  });
  it('push src and dest: rendered per host', () => {
    expect(rendered(`${VARS}  - push: { src: "files/{{ host }}.conf", dest: "/etc/{{ user }}.conf" }\n`)).toMatchObject(
      {
        src: '/pb/files/web1.conf',
        dest: '/etc/ops.conf',
      },
    );
  });
  it('pull src and dest: rendered per host', () => {
    expect(rendered(`${VARS}  - pull: { src: "/var/log/{{ run_id }}", dest: "got-{{ dev }}" }\n`)).toMatchObject({
      src: '/var/log/20261127T101010.000Z-ab12',
      dest: 'got-/dev/sdb',
    });
  });
  it('expect.stdout: values are regex-escaped, so they match literally', () => {
    const step = rendered(
      `vars: { ver: "1.2+3" }\nsteps:\n  - run: x\n    expect: { stdout: "^{{ ver }} on {{ host }}$" }\n`,
    );
    expect(step.expect!.stdout).toBe('^1\\.2\\+3 on web1$');
    expect(new RegExp(step.expect!.stdout!).test('1.2+3 on web1')).toBe(true);
    expect(new RegExp(step.expect!.stdout!).test('1x22 on web1')).toBe(false);
  });
  it('vars: play vars are rendered with built-ins and --var values', () => {
    const step = rendered('vars: { disk: "/tmp/{{ host }}-{{ size }}.img" }\nsteps:\n  - run: echo {{ disk }}\n', {
      size: '10G',
    });
    expect(step).toMatchObject({ run: 'echo /tmp/web1-10G.img' });
  });
  it('--var: values are rendered with the built-ins, per host, and override play vars', () => {
    const text = 'vars: { dev: /dev/sdb }\nsteps:\n  - run: echo {{ dev }}\n';
    expect(rendered(text, { dev: '/tmp/dd-{{ host }}.disk' })).toMatchObject({ run: 'echo /tmp/dd-web1.disk' });
    expect(rendered(text, { dev: '/tmp/dd-{{ host }}.disk' }, { ...builtins, host: '10.0.0.7' })).toMatchObject({
      run: 'echo /tmp/dd-10.0.0.7.disk',
    });
  });
  it('--var values feed play vars (built-ins, then --var, then play vars: no cycles)', () => {
    const step = rendered('vars: { img: "{{ dir }}/x.img" }\nsteps:\n  - run: echo {{ img }}\n', {
      dir: '/srv/{{ host }}',
    });
    expect(step).toMatchObject({ run: 'echo /srv/web1/x.img' });
  });
  it("a literal {{ is written {{ '{{' }}", () => {
    expect(rendered("steps:\n  - run: docker ps --format '{{ '{{' }}.Names}}' -f name={{ host }}\n")).toMatchObject({
      run: "docker ps --format '{{.Names}}' -f name=web1",
    });
  });
});

describe('built-ins that are not shell-safe', () => {
  const evil = { ...builtins, host: 'x;touch /tmp/pwned', user: 'a b' };
  it('are refused where a template uses them, even through a var', () => {
    expect(() => rendered('steps:\n  - run: echo {{ host }}\n', {}, evil)).toThrow(
      /^\{\{ host \}\}: "x;touch \/tmp\/pwned" is not a plain host name/,
    );
    expect(() => rendered('vars: { d: "/x/{{ user }}" }\nsteps:\n  - run: echo {{ d }}\n', {}, evil)).toThrow(
      /\{\{ d \}\} uses \{\{ user \}\}: "a b" is not a plain user/,
    );
    expect(() => rendered('steps:\n  - run: x\n', { d: '{{ host }}' }, evil)).not.toThrow();
    expect(() => rendered('steps:\n  - run: echo {{ d }}\n', { d: '{{ host }}' }, evil)).toThrow(/\{\{ host \}\}/);
  });
  it('do not matter when no template uses them', () => {
    expect(rendered('steps:\n  - run: echo {{ port }}\n', {}, evil)).toMatchObject({ run: 'echo 2222' });
  });
  it.each(['..', '-oProxyCommand=x', 'a/b', '$(id)', 'a`b`', 'x\ny'])('host %j is refused', (host) => {
    expect(() =>
      renderTemplate('{{ host }}', hostVars(load('steps:\n  - run: x\n').plays[0]!, {}, { ...builtins, host })),
    ).toThrow(/not a plain host/);
  });
  it.each(['web-1.example.com', '10.0.0.1', '::1', 'fe80::1%eth0', 'db_2'])('host %j is let through', (host) => {
    expect(
      renderTemplate('{{ host }}', hostVars(load('steps:\n  - run: x\n').plays[0]!, {}, { ...builtins, host })),
    ).toBe(host);
  });
});

describe('regexEscape', () => {
  it('makes any value match itself and nothing else, as the engine compiles expect.stdout', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (v, other) => {
        const re = new RegExp(`^${regexEscape(v)}$`);
        expect(re.test(v)).toBe(true);
        expect(re.test(other)).toBe(other === v);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('inventory variables (issue 14)', () => {
  const loadInv = (text: string, extraVars: Record<string, string> = {}) =>
    loadPlaybook({ file: '/pb/site.yml', text }, { fileExists: exists, extraVars, inventoryVars: true });
  const render = (text: string, inventory: Record<string, string>, extraVars: Record<string, string> = {}) => {
    const play = loadInv(text, extraVars).plays[0]!;
    return renderStep(play.steps[0]!, hostVars(play, extraVars, builtins, inventory));
  };
  it('a template names an inventory variable: the host gets its own value', () => {
    expect(render('steps:\n  - run: mkfs {{ dev }}\n', { dev: '/dev/sdb' })).toMatchObject({ run: 'mkfs /dev/sdb' });
  });
  it('precedence, lowest first: inventory < play vars < --var', () => {
    const text = 'vars: { a: play, b: play }\nsteps:\n  - run: echo {{ a }} {{ b }} {{ c }}\n';
    expect(render(text, { a: 'inv', b: 'inv', c: 'inv' }, { b: 'extra' })).toMatchObject({
      run: 'echo play extra inv',
    });
  });
  it('play vars may use inventory variables; inventory values may use built-ins', () => {
    const text = 'vars: { mnt: "/data/{{ disk }}" }\nsteps:\n  - run: echo {{ mnt }} {{ dir }}\n';
    expect(render(text, { disk: 'sdb', dir: '/srv/{{ host }}' })).toMatchObject({ run: 'echo /data/sdb /srv/web1' });
  });
  it('an inventory variable named like a built-in never shadows it', () => {
    expect(render('steps:\n  - run: echo {{ port }}\n', { port: '8080' })).toMatchObject({ run: 'echo 2222' });
  });
  it('without inventory variables, an unknown name is still refused at load time', () => {
    expect(() => load('steps:\n  - run: echo {{ dev }}\n')).toThrow('/pb/site.yml:2:15: unknown variable "dev"');
  });
  it('a play var naming another play var is refused, never read from the inventory instead', () => {
    expect(() => loadInv('vars: { a: x, b: "{{ a }}" }\nsteps:\n  - run: echo {{ b }}\n')).toThrow(
      /1:19: unknown variable "a" \(play vars may use built-ins, inventory variables and --var values only\)/,
    );
  });
});
