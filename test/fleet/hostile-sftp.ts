// A hostile SSH server for tests: an in-process ssh2 Server whose SFTP listing of /data returns
// names that try to escape the client's destination (../../x, a/b, ..), or, `endless`, never ends.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';

const { Server, utils } = ssh2;
const { STATUS_CODE } = utils.sftp;

export interface HostileServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

const DIR_MODE = 0o040755;
const FILE_MODE = 0o100644;
const attrs = (mode: number, size: number) => ({ mode, uid: 0, gid: 0, size, atime: 0, mtime: 0 });

export interface HostileOptions {
  /** The listing of /data never ends: every READDIR answers with 2,500 more file names. */
  endless?: boolean;
}

export async function startHostileSftp(names: string[], options: HostileOptions = {}): Promise<HostileServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-hostile-'));
  execFileSync('ssh-keygen', ['-t', 'ed25519', '-N', '', '-q', '-f', path.join(dir, 'key')]);
  const hostKey = fs.readFileSync(path.join(dir, 'key'));
  const clients = new Set<{ end(): void }>();
  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => {});
    client.on('authentication', (ctx) => ctx.accept());
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('sftp', (acceptSftp) => {
          const sftp = acceptSftp();
          let listed = false;
          const stat = (reqid: number, p: string) =>
            p === '/data' ? sftp.attrs(reqid, attrs(DIR_MODE, 0)) : sftp.attrs(reqid, attrs(FILE_MODE, 5));
          sftp.on('LSTAT', stat).on('STAT', stat);
          sftp.on('REALPATH', (reqid, p) =>
            sftp.name(reqid, [{ filename: p, longname: p, attrs: attrs(DIR_MODE, 0) }]),
          );
          sftp.on('OPENDIR', (reqid) => sftp.handle(reqid, Buffer.from([0, 0, 0, 1])));
          let served = 0;
          sftp.on('READDIR', (reqid) => {
            if (options.endless) {
              const batch = Array.from({ length: 2500 }, () => `e${++served}`);
              return sftp.name(
                reqid,
                batch.map((filename) => ({ filename, longname: '', attrs: attrs(FILE_MODE, 5) })),
              );
            }
            if (listed) return sftp.status(reqid, STATUS_CODE.EOF);
            listed = true;
            sftp.name(
              reqid,
              names.map((filename) => ({
                filename,
                longname: `-rw-r--r-- 1 root root 5 Jan 1 00:00 ${filename}`,
                attrs: attrs(FILE_MODE, 5),
              })),
            );
          });
          sftp.on('OPEN', (reqid) => sftp.handle(reqid, Buffer.from([0, 0, 0, 2])));
          sftp.on('READ', (reqid, _handle, offset) =>
            offset === 0 ? sftp.data(reqid, Buffer.from('evil\n')) : sftp.status(reqid, STATUS_CODE.EOF),
          );
          sftp.on('FSTAT', (reqid) => sftp.attrs(reqid, attrs(FILE_MODE, 5)));
          sftp.on('CLOSE', (reqid) => sftp.status(reqid, STATUS_CODE.OK));
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.end();
        server.close(() => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
