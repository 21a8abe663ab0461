import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import pinoPretty from 'pino-pretty';

/** The logger every module receives; a plain pino logger so `child()` bindings work everywhere. */
export type Logger = PinoLogger;

export type LogFormat = 'pretty' | 'json';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface LoggerOptions {
  /** Omitted: pretty when stdout is a TTY, JSON otherwise. */
  readonly format?: LogFormat;
  readonly level?: LogLevel;
  /** Where the lines go; defaults to stdout. Tests pass a stream to capture output. */
  readonly destination?: NodeJS.WritableStream;
  readonly base?: Record<string, unknown>;
}

export function defaultLogFormat(): LogFormat {
  return process.stdout.isTTY ? 'pretty' : 'json';
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? defaultLogFormat();
  const level = options.level ?? 'info';
  let stream: DestinationStream;
  if (format === 'pretty') {
    // In-process pretty printing (not a worker transport) so nothing is lost on a fast exit.
    stream = pinoPretty({
      colorize: options.destination === undefined && process.stdout.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      sync: true,
      ...(options.destination ? { destination: options.destination } : {}),
    });
  } else if (options.destination) {
    stream = options.destination as DestinationStream;
  } else {
    // Synchronous writes: log volume is low and a crash or SIGTERM must not drop the last lines.
    stream = pino.destination({ dest: 1, sync: true });
  }
  return pino({ level, base: options.base ?? { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}

/** A logger that drops everything, for pure unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
