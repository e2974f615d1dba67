import { randomBytes } from "node:crypto";
import { posix } from "node:path";
import type ssh2 from "ssh2";
import { SshError } from "./errors.js";

type Client = InstanceType<typeof ssh2.Client>;
type Sftp = Parameters<Parameters<Client["sftp"]>[0]>[1];

function call<T>(
  run: (done: (error: Error | null | undefined, value: T) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) =>
    run((error, value) => (error ? reject(error) : resolve(value))),
  );
}

/**
 * Writes a file atomically over SFTP: a new temporary file in the same directory, created
 * with mode 0600 (and chmod-ed to it, whatever the remote umask), then renamed over the
 * target with the OpenSSH posix-rename extension. Readers see the old or the new file,
 * never a partial one. The temporary file is removed when anything fails.
 */
export async function writeFileAtomic(
  client: Client,
  path: string,
  content: string,
  mode = 0o600,
): Promise<void> {
  const sftp = await call<Sftp>((done) => client.sftp(done)).catch((error: Error) => {
    throw new SshError("disconnected", `cannot open an SFTP session: ${error.message}`);
  });
  const tmp = posix.join(
    posix.dirname(path),
    `.${posix.basename(path)}.${randomBytes(6).toString("hex")}.tmp`,
  );
  try {
    const handle = await call<Buffer>((done) => sftp.open(tmp, "wx", { mode }, done));
    try {
      await call<void>((done) => sftp.fchmod(handle, mode, (e) => done(e, undefined)));
      const data = Buffer.from(content, "utf8");
      await call<void>((done) =>
        sftp.write(handle, data, 0, data.length, 0, (e) => done(e, undefined)),
      );
    } finally {
      await call<void>((done) => sftp.close(handle, (e) => done(e, undefined)));
    }
    await call<void>((done) => sftp.ext_openssh_rename(tmp, path, (e) => done(e, undefined)));
  } catch (error) {
    await call<void>((done) => sftp.unlink(tmp, () => done(null, undefined)));
    throw new SshError(
      "command_failed",
      `SFTP write of ${path} failed: ${(error as Error).message}`,
    );
  } finally {
    sftp.end();
  }
}
