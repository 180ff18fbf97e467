import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { historyPath, loadHistory, saveHistory } from '../../../../src/cli/shell/history.js';

describe('shell history', () => {
  it('lives under $XDG_STATE_HOME/herd, else ~/.local/state/herd (a relative XDG_STATE_HOME is ignored)', () => {
    expect(historyPath({ XDG_STATE_HOME: '/s' }, '/home/u')).toBe('/s/herd/shell_history');
    expect(historyPath({}, '/home/u')).toBe('/home/u/.local/state/herd/shell_history');
    expect(historyPath({ XDG_STATE_HOME: 'rel' }, '/home/u')).toBe('/home/u/.local/state/herd/shell_history');
  });

  it('is written oldest first with mode 0600 (an older wider file narrowed) and read back newest first', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-history-'));
    try {
      const file = path.join(dir, 'herd', 'shell_history');
      expect(loadHistory(file)).toEqual([]);
      saveHistory(file, ['third', 'second', 'first']);
      expect(fs.readFileSync(file, 'utf8')).toBe('first\nsecond\nthird\n');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
      expect(loadHistory(file)).toEqual(['third', 'second', 'first']);
      fs.chmodSync(file, 0o644);
      saveHistory(file, ['again']);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
