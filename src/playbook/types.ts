// The shape of a validated playbook. Pure data.
import type { SourcePosition } from '../errors.js';

export type Amount = { kind: 'count'; n: number } | { kind: 'percent'; p: number };

export interface StepExpect {
  exit?: number[];
  /** Regex source that stdout must match. */
  stdout?: string;
  consensus?: boolean;
}

export interface StepCommon {
  /** 1-based step number within its play. */
  index: number;
  name: string;
  when?: string;
  unless?: string;
  creates?: string;
  removes?: string;
  /** Read-only: also runs under --check. */
  check: boolean;
  expect?: StepExpect;
  timeoutS?: number;
  ignoreErrors: boolean;
  become: boolean;
  /** sudo -u: the account a `become` step runs as (sudo's default, root, when absent). */
  becomeUser?: string;
  position: SourcePosition;
}

export type Step = StepCommon &
  (
    | { kind: 'run'; run: string }
    | { kind: 'script'; script: string; args?: string }
    | { kind: 'push'; src: string; dest: string }
    | { kind: 'pull'; src: string; dest: string }
  );

/** Where a template names a variable. */
export interface TemplateUse {
  name: string;
  position: SourcePosition;
}

export interface Play {
  index: number;
  name: string;
  /** Limit pattern; 'all' by default. */
  hosts: string;
  vars: Record<string, string>;
  serial?: Amount;
  maxFail?: Amount;
  steps: Step[];
  position: SourcePosition;
  /**
   * Template uses of names each host supplies (built-ins, inventory variables; not play vars or --var), in file
   * order: checked against every host of the play before any host is contacted (host-vars-check.ts).
   */
  hostVarUses?: TemplateUse[];
}

export interface Playbook {
  file: string;
  plays: Play[];
}
