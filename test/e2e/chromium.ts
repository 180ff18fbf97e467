// Headless Chromium (Debian's `chromium`) as the oracle for the HTML report: it runs the page's
// script the way a browser does and gives back the DOM after it ran, or a screenshot.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));

export interface ChromiumResult {
  stdout: string;
  stderr: string;
}

/**
 * Run chromium headless on a URL with extra flags, in its own profile directory and process group,
 * killed (the whole group, by pid) when it outlives `timeoutMs`.
 */
export function chromium(url: string, flags: string[], profile: string, timeoutMs = 60_000): Promise<ChromiumResult> {
  if (CHROMIUM === undefined) throw new Error('chromium is not installed: run .ci/setup (apt-get install chromium)');
  fs.mkdirSync(profile, { recursive: true });
  // As root Chromium refuses to start without --no-sandbox; the page is our own report file.
  const profileFlag = `--user-data-dir=${path.resolve(profile)}`;
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    profileFlag,
    '--virtual-time-budget=3000',
    ...flags,
    url,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(CHROMIUM, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: profile },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      reject(new Error(`chromium ${url} did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`chromium exited ${code}\n${stderr}`));
    });
  });
}
