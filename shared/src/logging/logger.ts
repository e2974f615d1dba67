import { type Logger, pino } from "pino";

export type { Logger };

/**
 * Keys whose values never reach a log line, wherever they sit in a logged object. Secret
 * objects from the configuration print as "[redacted]" on their own; this catches plain
 * strings such as headers or request fields.
 */
const SECRET_KEYS = [
  "password",
  "host_password",
  "elastic_password",
  "kibana_password",
  "private_key_passphrase",
  "passphrase",
  "token",
  "authorization",
  "secret",
  "privateKey",
];

const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`]);

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Where lines go; standard output by default. */
  destination?: NodeJS.WritableStream;
}

/** A JSON logger for one service, with secrets redacted. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.service,
      level: options.level ?? "info",
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      base: { service: options.service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ sync: true }),
  );
}
