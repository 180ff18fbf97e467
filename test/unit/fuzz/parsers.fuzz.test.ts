// Property-based fuzzing of the two input parsers: whatever the bytes, the answer is a parsed
// value or a typed error with a real position, never a crash, a hang or a huge expansion.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { InventoryError, PlaybookError } from '../../../src/errors.js';
import { parseInventory } from '../../../src/inventory/parse.js';
import { MAX_EXPANSION } from '../../../src/inventory/ranges.js';
import { loadPlaybook } from '../../../src/playbook/index.js';

const RUNS = Number(process.env['HERD_FUZZ_RUNS'] ?? 500);

/** Inventory-shaped text: lines built from the pieces the syntax is made of, plus noise. */
const inventoryLine = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '10.0.0.',
        '127.0.',
        'web',
        'db-',
        'host',
        '::1',
        '[',
        ']',
        '-',
        ',',
        ':',
        '@',
        '/',
        '#',
        ' ',
        '\t',
        '!',
        '*',
        'user@',
        ':22',
        ':0',
        ':99999',
        '[web]',
        '[1-3]',
        '[9-1]',
        '[01-10]',
        '[a-c]',
        '[1-99999999]',
        '/24',
        '/8',
        '/33',
        'ssh://',
      ),
      fc.integer({ min: 0, max: 300 }).map(String),
      fc.string({ maxLength: 6 }),
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join(''));
const inventoryText = fc.oneof(
  fc.array(inventoryLine, { maxLength: 12 }).map((l) => l.join('\n')),
  fc.string({ maxLength: 200 }),
);

function lineCount(text: string): number {
  return text.split('\n').length;
}

/**
 * The property both parsers must keep: `parse` returns (and `check` accepts the value), or it
 * throws `ErrorClass` positioned in `file` at a line that exists (`slack`: one past the end for
 * YAML's end-of-document errors). No clock: a hang is caught by the test timeout, a huge expansion
 * by counting what was produced (see the inventory property).
 */
function typedOutcome(
  text: string,
  parse: () => void,
  ErrorClass: typeof InventoryError | typeof PlaybookError,
  file: string,
  slack: number,
): void {
  try {
    parse();
  } catch (err) {
    if (!(err instanceof ErrorClass))
      throw new Error(`not a ${ErrorClass.name} for ${JSON.stringify(text)}: ${String(err)}`, { cause: err });
    expect(err.position.file).toBe(file);
    expect(err.position.line).toBeGreaterThanOrEqual(1);
    expect(err.position.line).toBeLessThanOrEqual(lineCount(text) + slack);
    expect(err.position.column).toBeGreaterThanOrEqual(1);
  }
}

describe('inventory parser under fuzzing', () => {
  it('returns targets or throws InventoryError at a real line and column, never more than the expansion limit', () => {
    fc.assert(
      fc.property(inventoryText, (text) =>
        typedOutcome(
          text,
          () => {
            const parsed = parseInventory([{ name: 'fuzz.txt', text }]);
            // A line expands to at most MAX_EXPANSION hosts: anything more is the huge expansion to refuse.
            expect(parsed.targets.length).toBeLessThanOrEqual(lineCount(text) * MAX_EXPANSION);
            for (const t of parsed.targets) expect(typeof t.host === 'string' && t.host.length > 0).toBe(true);
          },
          InventoryError,
          'fuzz.txt',
          0,
        ),
      ),
      { numRuns: RUNS },
    );
  });
});

/** Playbook-shaped documents: plays and steps with right and wrong keys and values. */
const scalar = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -5, max: 500 }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('10%', '0%', '/bin/true', 'yes', '~'),
);
const stepKey = fc.constantFrom(
  'name',
  'run',
  'script',
  'push',
  'pull',
  'src',
  'dest',
  'when',
  'unless',
  'creates',
  'removes',
  'check',
  'become',
  'timeout',
  'ignore_errors',
  'expect',
  'args',
  'bogus',
);
const step = fc.dictionary(
  stepKey,
  fc.oneof(
    scalar,
    fc.array(scalar, { maxLength: 3 }),
    fc.dictionary(
      fc.constantFrom('exit', 'stdout', 'consensus', 'x'),
      fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })),
    ),
  ),
  { maxKeys: 4 },
);
const play = fc.dictionary(
  fc.constantFrom('name', 'hosts', 'vars', 'serial', 'max_fail', 'steps', 'become', 'bogus'),
  fc.oneof(
    scalar,
    fc.array(step, { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 5 }), scalar, { maxKeys: 3 }),
  ),
  { maxKeys: 5 },
);
const playbookText = fc.oneof(
  fc.array(play, { maxLength: 3 }).map((plays) => stringify(plays)),
  play.map((p) => stringify(p)),
  fc.anything({ maxDepth: 3 }).map((v) => String(stringify(v) ?? '')),
  fc.string({ maxLength: 200 }),
);

describe('playbook loader under fuzzing', () => {
  it('returns plays or throws PlaybookError at a real line and column', () => {
    fc.assert(
      fc.property(playbookText, (text) =>
        typedOutcome(
          text,
          () => {
            const pb = loadPlaybook({ file: '/pb/fuzz.yml', text }, { fileExists: () => true, extraVars: {} });
            expect(pb.plays.length).toBeGreaterThan(0);
            for (const p of pb.plays)
              for (const s of p.steps) expect(['run', 'script', 'push', 'pull']).toContain(s.kind);
          },
          PlaybookError,
          '/pb/fuzz.yml',
          1,
        ),
      ),
      { numRuns: RUNS },
    );
  });
});
