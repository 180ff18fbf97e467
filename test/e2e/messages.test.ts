// What the operator sees: each message names the option the user typed, says the fix, and reads
// `herd: ...`. Every message here is asserted exactly (issue 12, "Messages that name what the user typed").
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runHerd, scratchDir } from './herd-cli.js';

/** An inventory whose one host nobody listens on: a refusal before contact never gets that far. */
function unreachableInventory(dir: string): string {
  const inv = path.join(dir, 'inv.txt');
  fs.writeFileSync(inv, '127.0.0.1:1\n');
  return inv;
}

function becomePlaybook(dir: string): string {
  const file = path.join(dir, 'become.yml');
  fs.writeFileSync(file, '- name: p\n  hosts: all\n  steps:\n    - name: s\n      run: id -u\n      become: true\n');
  return file;
}

describe('secret options name the flag the user gave', () => {
  it('--become-pass-env NOTSET names --become-pass-env, not --password-env', async () => {
    const dir = scratchDir();
    const r = await runHerd(['play', '-i', unreachableInventory(dir), becomePlaybook(dir), '--password-env', 'HERD_T_PW', '--become-pass-env', 'NOTSET'], {
      cwd: dir,
      env: { HOME: dir, HERD_T_PW: 'x', NOTSET: undefined },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('herd: --become-pass-env NOTSET: environment variable NOTSET is not set or empty\n');
  });

  it('a prompt without a terminal names the --ask-* flag given and its environment-variable alternative', async () => {
    const dir = scratchDir();
    const inv = unreachableInventory(dir);
    const env = { HOME: dir, HERD_T_PW: 'x' };
    const become = await runHerd(['play', '-i', inv, becomePlaybook(dir), '--password-env', 'HERD_T_PW', '--ask-become-pass'], { cwd: dir, env });
    expect(become.code).toBe(2);
    expect(become.stderr).toBe('herd: --ask-become-pass needs a terminal on stdin; use --become-pass-env VAR instead\n');
    const pass = await runHerd(['run', '-i', inv, '--ask-pass', 'true'], { cwd: dir, env });
    expect(pass.code).toBe(2);
    expect(pass.stderr).toBe('herd: --ask-pass needs a terminal on stdin; use --password-env VAR instead\n');
    const kp = await runHerd(['run', '-i', inv, '--password-env', 'HERD_T_PW', '--ask-key-passphrase', 'true'], { cwd: dir, env });
    expect(kp.code).toBe(2);
    expect(kp.stderr).toBe('herd: --ask-key-passphrase needs a terminal on stdin; use --key-passphrase-env VAR instead\n');
  });
});
