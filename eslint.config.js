// @ts-check
// ESLint: typescript-eslint's strict and stylistic sets (not the type-checked ones: measured on this tree they
// took about 4x the time and added ~750 findings, mostly template-literal and void-expression noise), the
// project's import boundaries; eslint-config-prettier turns off every rule about layout, which is Prettier's job.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

const SSH2 = 'Only src/transport/ talks SSH: go through its API (docs/ARCHITECTURE.md, issue 13).';
const ENGINE = 'The engine emits events and never formats text: report/ and cli/ consume the engine, not the reverse.';

// no-restricted-imports options are replaced, not merged, by a later block: each block states its whole list.
const ssh2Paths = [{ name: 'ssh2', message: SSH2 }];
const ssh2Patterns = [{ group: ['ssh2/*'], message: SSH2 }];
const engineUpwardPatterns = [{ regex: String.raw`^\.\.?/(?:.*/)?(?:report|cli)(?:/|$)`, message: ENGINE }];
// Imports the core rule does not see: `import('ssh2').Client` in a type, `await import('ssh2')`.
const ssh2Syntax = [
  { selector: "TSImportType[source.value='ssh2']", message: SSH2 },
  { selector: "ImportExpression[source.value='ssh2']", message: SSH2 },
];

// Files other engineers are changing for issue 13, not yet formatted or lint-fixed (docs/LINT-MERGE.md).
// The merger deletes this list after `prettier --write .` and `eslint --fix .` on the merged tree.
const NOT_YET_LINTED = [
  'bench/bench.ts',
  'bench/chart.ts',
  'bench/tools.ts',
  'src/cli/commands/play.ts',
  'src/cli/commands/rerun.ts',
  'src/cli/commands/transfer.ts',
  'src/cli/launch.ts',
  'src/cli/main.ts',
  'src/cli/options.ts',
  'src/cli/play-launch.ts',
  'src/engine/connection-plan.ts',
  'src/engine/connector.ts',
  'src/engine/host-job.ts',
  'src/engine/play.ts',
  'src/engine/pool.ts',
  'src/engine/protocol.ts',
  'src/engine/run.ts',
  'src/engine/steps.ts',
  'src/engine/stopped.ts',
  'src/engine/transfer-job.ts',
  'src/engine/worker.ts',
  'src/errors.ts',
  'src/report/hostkey-reason.ts',
  'src/report/ndjson.ts',
  'src/report/progress.ts',
  'src/report/size.ts',
  'src/report/stream.ts',
  'src/results/run-record.ts',
  'src/results/writer.ts',
  'src/transport/connect.ts',
  'src/transport/exec.ts',
  'src/transport/failure.ts',
  'src/transport/jump.ts',
  'src/transport/known-hosts.ts',
  'src/transport/remote-command.ts',
  'src/transport/sftp-stream.ts',
  'src/transport/sftp.ts',
  'src/transport/ssh-config.ts',
  'test/e2e/chromium.ts',
  'test/e2e/display.test.ts',
  'test/e2e/error-codes.test.ts',
  'test/e2e/faults-suite.test.ts',
  'test/e2e/fleet-args.ts',
  'test/e2e/fleet-cli.test.ts',
  'test/e2e/herd-cli.ts',
  'test/e2e/hostile-host-output.test.ts',
  'test/e2e/hostile-host.test.ts',
  'test/e2e/jump-pacing.test.ts',
  'test/e2e/jump.test.ts',
  'test/e2e/known-hosts-oracle.test.ts',
  'test/e2e/known-hosts-trust.test.ts',
  'test/e2e/messages.test.ts',
  'test/e2e/options.test.ts',
  'test/e2e/play-honesty.test.ts',
  'test/e2e/play-recap.test.ts',
  'test/e2e/play.test.ts',
  'test/e2e/run-faults.test.ts',
  'test/e2e/run-fleet.test.ts',
  'test/e2e/run-keys.test.ts',
  'test/e2e/run-limits.test.ts',
  'test/e2e/run-signals.test.ts',
  'test/e2e/run-timeout.test.ts',
  'test/e2e/run-workers.test.ts',
  'test/e2e/select.test.ts',
  'test/e2e/templates.test.ts',
  'test/e2e/terminal.test.ts',
  'test/e2e/transfer.test.ts',
  'test/e2e/worker-faults.test.ts',
  'test/fleet/demo.ts',
  'test/fleet/faults.ts',
  'test/fleet/fleet-cli.ts',
  'test/fleet/fleet.ts',
  'test/fleet/hostile-sftp.ts',
  'test/fleet/large-run.ts',
  'test/fleet/netns.ts',
  'test/fleet/sudo.ts',
  'test/unit/cli/completion.test.ts',
  'test/unit/cli/options-table.test.ts',
  'test/unit/docs/architecture.test.ts',
  'test/unit/engine/connection-plan.test.ts',
  'test/unit/engine/jump-gate.test.ts',
  'test/unit/engine/limits.test.ts',
  'test/unit/engine/play-plan.test.ts',
  'test/unit/engine/pool-queue.test.ts',
  'test/unit/engine/step-completion.test.ts',
  'test/unit/errors.test.ts',
  'test/unit/fuzz/parsers.fuzz.test.ts',
  'test/unit/inventory/nodeset-oracle.test.ts',
  'test/unit/inventory/parse.test.ts',
  'test/unit/playbook/templates.test.ts',
  'test/unit/report/fold.test.ts',
  'test/unit/report/groups.test.ts',
  'test/unit/report/stream.test.ts',
  'test/unit/results/resume.test.ts',
  'test/unit/results/tsv.test.ts',
  'test/unit/transport/known-hosts.test.ts',
  'test/unit/transport/remote-command.test.ts',
];

export default defineConfig(
  { ignores: ['dist/', 'runs/', 'bench/results/', 'fleet/', 'test-output/', '.herd-tmp/'] },
  { ignores: NOT_YET_LINTED },
  js.configs.recommended,
  tseslint.configs.strict,
  tseslint.configs.stylistic,
  // Before the project's rules: it turns max-len off, and max-len is re-enabled below for what Prettier cannot wrap.
  prettier,
  {
    rules: {
      // Comments and prose Prettier cannot wrap. Strings, template literals and regexes are exempt: a message or a
      // test title split with `+` can no longer be found by grepping for what the user or the test report shows.
      // Core max-len is frozen (deprecated, kept until ESLint 11); @stylistic/max-len takes the same options.
      'max-len': [
        'error',
        {
          code: 120,
          ignoreUrls: true,
          ignoreStrings: true,
          ignoreTemplateLiterals: true,
          ignoreRegExpLiterals: true,
        },
      ],
      // With noUncheckedIndexedAccess, `m[1]!` marks an index the code has already checked; guards would be churn.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Matching control characters is the point where herd neutralises hostile host output.
      'no-control-regex': 'off',
      // A no-op handler (`onStderr() {}`) is how a sink discards a stream; the rule only asks for filler comments.
      '@typescript-eslint/no-empty-function': 'off',
      // `_name` is a deliberately unused parameter; `{ stdout: _kept, ...rest }` is how a field is dropped.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/transport/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: ssh2Paths, patterns: ssh2Patterns }],
      'no-restricted-syntax': ['error', ...ssh2Syntax],
    },
  },
  {
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ssh2Paths, patterns: [...ssh2Patterns, ...engineUpwardPatterns] }],
    },
  },
  // Known violations being removed by the redesign (issue 13); the merger deletes this block.
  // Each file is relieved only of the restriction it breaks today.
  {
    files: ['src/engine/run.ts', 'src/engine/play.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: ssh2Paths, patterns: ssh2Patterns }] },
  },
  {
    files: ['src/engine/host-job.ts', 'src/engine/connector.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: engineUpwardPatterns }] },
  },
  {
    files: ['src/engine/steps.ts', 'src/engine/transfer-job.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
