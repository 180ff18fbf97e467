// Refuse a run that has nothing to log in with, before any host is contacted: otherwise every host
// fails with "all offered methods were rejected" and the operator learns nothing new per host.
import fs from 'node:fs';
import { UsageError } from '../errors.js';

export interface CredentialSources {
  /** Keys named with -k (already checked to parse) or, without -k, the default ~/.ssh/id_* paths. */
  keyPaths: string[];
  keysExplicit: boolean;
  agentSocket: string | undefined;
  password: boolean;
  /** An ssh_config that names an IdentityFile for some host. */
  sshConfigIdentity: boolean;
}

export const NO_CREDENTIALS = 'no credentials: give -k, run ssh-agent, or --password-env';

export function requireCredentials(s: CredentialSources, exists: (p: string) => boolean = fs.existsSync): void {
  if (s.password || s.agentSocket !== undefined || s.sshConfigIdentity) return;
  if (s.keysExplicit ? s.keyPaths.length > 0 : s.keyPaths.some(exists)) return;
  throw new UsageError(NO_CREDENTIALS);
}
