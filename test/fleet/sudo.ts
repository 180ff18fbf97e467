// Give the fleet user a real sudo that requires its password (root only), for become tests.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { FLEET_USER_AS_ROOT, isRoot, type Fleet } from './fleet.js';

const SUDOERS = `/etc/sudoers.d/${FLEET_USER_AS_ROOT}-test`;

/** Returns a cleanup function, or null when sudo cannot be set up here (not root, no sudo). */
export function enableSudoWithPassword(fleet: Fleet): (() => void) | null {
  if (!isRoot() || fleet.password === undefined || !fs.existsSync('/usr/bin/sudo')) return null;
  const text =
    [
      `${FLEET_USER_AS_ROOT} ALL=(ALL) ALL`,
      // Ask every time, so a test proves the password was really fed (no cached credentials).
      `Defaults:${FLEET_USER_AS_ROOT} timestamp_timeout=0, !lecture`,
    ].join('\n') + '\n';
  fs.writeFileSync(SUDOERS, text, { mode: 0o440 });
  execFileSync('visudo', ['-cf', SUDOERS], { stdio: 'ignore' });
  return () => fs.rmSync(SUDOERS, { force: true });
}
