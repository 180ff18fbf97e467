// The architecture's import boundaries are lint rules (eslint.config.js): these snippets prove each one fires
// where it should and stays quiet where the import is allowed. The file paths are never read: ESLint picks the
// config blocks by path, which is what the rules hang on.
import path from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../..');
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: ROOT });
});

async function importFindings(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, filePath) });
  if (!result) throw new Error(`no lint result for ${filePath}`);
  // An ignored path would pass every case below without linting anything.
  expect(result.messages.filter((m) => m.ruleId === null)).toEqual([]);
  return result.messages
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax')
    .map((m) => m.message);
}

const SSH2_RULE = /Only src\/transport\/ talks SSH/;
const ENGINE_RULE = /The engine emits events and never formats text/;

describe('import boundaries (eslint.config.js)', () => {
  it('refuses ssh2 in src/engine/, types included', async () => {
    for (const code of [
      "import { Client } from 'ssh2';\nexport const c = Client;\n",
      "import type { Client } from 'ssh2';\nexport type C = Client;\n",
      "export type C = import('ssh2').Client;\n",
      "export const load = () => import('ssh2');\n",
      "export { Client } from 'ssh2';\n",
      "import type { Client } from 'ssh2/lib/client.js';\nexport type C = Client;\n",
    ]) {
      const found = await importFindings('src/engine/x.ts', code);
      expect(found, code).toHaveLength(1);
      expect(found[0], code).toMatch(SSH2_RULE);
    }
  });

  it('refuses ssh2 anywhere else in src/ outside transport/', async () => {
    for (const file of ['src/cli/x.ts', 'src/report/x.ts', 'src/results/x.ts', 'src/x.ts']) {
      const found = await importFindings(file, "import type { Client } from 'ssh2';\nexport type C = Client;\n");
      expect(found, file).toHaveLength(1);
      expect(found[0], file).toMatch(SSH2_RULE);
    }
  });

  it('lets src/transport/ import ssh2', async () => {
    expect(
      await importFindings('src/transport/x.ts', "import ssh2 from 'ssh2';\nexport const c = ssh2.Client;\n"),
    ).toEqual([]);
    expect(await importFindings('src/transport/x.ts', "export type C = import('ssh2').Client;\n")).toEqual([]);
  });

  it('refuses report/ and cli/ in src/engine/', async () => {
    for (const [file, code] of [
      ['src/engine/x.ts', "import { foldHosts } from '../report/fold.js';\nexport const f = foldHosts;\n"],
      ['src/engine/x.ts', "import type { NdjsonSink } from '../report/ndjson.js';\nexport type S = NdjsonSink;\n"],
      ['src/engine/x.ts', "import { renderReport } from '../report/html/render.js';\nexport const r = renderReport;\n"],
      ['src/engine/x.ts', "import { main } from '../cli/main.js';\nexport const m = main;\n"],
      ['src/engine/deeper/x.ts', "import { plural } from '../../report/size.js';\nexport const p = plural;\n"],
    ] as const) {
      const found = await importFindings(file, code);
      expect(found, code).toHaveLength(1);
      expect(found[0], code).toMatch(ENGINE_RULE);
    }
  });

  it('lets the engine import its own modules and results/, and cli/ import report/', async () => {
    const allowed = [
      ['src/engine/x.ts', "import { RunWriter } from '../results/writer.js';\nexport const w = RunWriter;\n"],
      [
        'src/engine/x.ts',
        "import { planConnections } from './connection-plan.js';\nexport const p = planConnections;\n",
      ],
      ['src/cli/x.ts', "import { plural } from '../report/size.js';\nexport const p = plural;\n"],
    ] as const;
    for (const [file, code] of allowed) expect(await importFindings(file, code), code).toEqual([]);
  });
});
