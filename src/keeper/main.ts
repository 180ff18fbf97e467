// The keeper process's entry, started detached by client.ts: `main.js <dir> <name> <identity> <env> <idleMs>`.
// Nothing secret is on its command line; its stdio is a log file in the private keeper directory.
import { Keeper } from './keeper.js';
import { keeperFiles } from './paths.js';

const [dir, name, identity, env, idle] = process.argv.slice(2);
if (!dir || !name || !identity || !env || !idle) {
  process.stderr.write('herd keeper: expected <dir> <name> <identity> <env> <idleMs>\n');
  process.exit(2);
}
// The terminal's Ctrl-C never reaches it (its own session); SIGTERM closes its connections first.
const keeper = new Keeper({ files: keeperFiles(dir, name), identity, env, idleMs: Number(idle) });
process.on('SIGTERM', () => void keeper.stop());
process.on('SIGINT', () => void keeper.stop());
process.on('SIGHUP', () => {});
keeper.start().catch((err: unknown) => {
  process.stderr.write(`herd keeper: ${(err as Error).message}\n`);
  process.exit(1);
});
