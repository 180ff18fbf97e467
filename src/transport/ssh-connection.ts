// A HostConnection over an authenticated ssh2 Client.
import type { Client } from 'ssh2';
import type { HostConnection } from './connection.js';
import { execCommand, probeLoginShell, type ExecOptions } from './exec.js';
import type { WrapperForm } from './remote-command.js';
import { openSftp } from './sftp-channel.js';

export function sshConnection(client: Client): HostConnection {
  // How commands are wrapped for the login shell: portable, until the connection's second command (a kept
  // connection: --persist, herd shell, a playbook) asks first, once, which shorter form works (direct, posix). A
  // connection that serves one command never pays for the probe; the probe runs alone on the connection (a host may
  // allow one session at a time: sshd's MaxSessions 1).
  let commands = 0;
  let learned: Promise<WrapperForm> | undefined;
  const formFor = async (options: ExecOptions): Promise<WrapperForm> => {
    // sudo resets the environment: a command through it keeps the portable form, and asks nothing.
    if (options.become || ++commands < 2) return 'portable';
    learned ??= probeLoginShell(client, options.signal);
    return learned;
  };
  return {
    // A stop while the probe ran ends the probe at once; execCommand then stops the command as any stop does.
    exec: async (command, options) => execCommand(client, command, options, await formFor(options)),
    openFiles: () => openSftp(client),
    onClose: (listener) => {
      client.once('close', listener);
      return () => void client.off('close', listener);
    },
    onInternalError: (listener) => {
      // ssh2 catches what its callbacks throw (ours included), emits it as the client's 'error' and
      // drops the connection. Such an error carries no ssh2 `level` (socket, timeout and protocol
      // errors do) and no numeric `code` (the reason of a server's DISCONNECT, the host's doing).
      const onError = (err: Error & { level?: string; code?: unknown }): void => {
        if (err.level !== undefined || typeof err.code === 'number') return;
        listener(err);
      };
      client.on('error', onError);
      return () => void client.off('error', onError);
    },
    close: () => client.end(),
  };
}
