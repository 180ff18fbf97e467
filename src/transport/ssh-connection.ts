// A HostConnection over an authenticated ssh2 Client.
import type { Client } from 'ssh2';
import type { HostConnection } from './connection.js';
import { execCommand, probeLoginShell } from './exec.js';
import type { WrapperForm } from './remote-command.js';
import { openSftp } from './sftp-channel.js';

export function sshConnection(client: Client): HostConnection {
  // How commands are wrapped for the login shell: portable until a probe, run when the connection is first reused,
  // showed the posix form works (a connection that serves one command never pays for the probe).
  let form: WrapperForm = 'portable';
  let probed = false;
  return {
    exec: (command, options) => execCommand(client, command, options, form),
    reused: () => {
      if (probed) return;
      probed = true;
      void probeLoginShell(client).then((posix) => {
        if (posix) form = 'posix';
      });
    },
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
