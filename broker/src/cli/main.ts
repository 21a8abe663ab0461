import type { Broker } from '../broker.js';
import { createLogger } from '../observability/logger.js';
import { BROKER_USAGE, CliUsageError, MAIN_USAGE, parseBrokerArgs } from './args.js';

const SHUTDOWN_DEADLINE_MS = 30_000;

/** Runs a `chronik` command; resolves to the process exit code for commands that finish. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(MAIN_USAGE);
    return 2;
  }
  if (command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(MAIN_USAGE);
    return 0;
  }
  if (command === 'broker') return runBroker(rest);
  if (command === 'dev') return runDevCommand(rest);
  if (command === 'ctl') {
    // Loaded only here: the admin client needs neither the broker nor its settings.
    const { runCtl } = await import('./ctl.js');
    return runCtl(rest, process.env, { out: process.stdout, err: process.stderr });
  }
  process.stderr.write(`chronik: unknown command '${command}'\n\n${MAIN_USAGE}`);
  return 2;
}

async function runDevCommand(argv: readonly string[]): Promise<number> {
  const { DEV_USAGE, DevUsageError, parseDevArgs, runDev } = await import('./dev.js');
  let options;
  try {
    options = parseDevArgs(argv);
  } catch (err) {
    if (err instanceof DevUsageError) {
      process.stderr.write(`chronik dev: ${err.message}\nRun 'chronik dev --help' for the options.\n`);
      return 2;
    }
    throw err;
  }
  if (options === null) {
    process.stdout.write(DEV_USAGE);
    return 0;
  }
  return runDev(options);
}

async function runBroker(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseBrokerArgs(argv, process.env, process.stdout.isTTY === true);
  } catch (err) {
    if (err instanceof CliUsageError) {
      process.stderr.write(`chronik broker: ${err.message}\nRun 'chronik broker --help' for the options.\n`);
      return err.exitCode;
    }
    throw err;
  }
  if (parsed.help) {
    process.stdout.write(BROKER_USAGE);
    return 0;
  }
  const config = parsed.config;
  const logger = createLogger({ format: config.logFormat, level: config.logLevel, base: { node: config.nodeId } });
  process.on('uncaughtException', (err) => {
    // A bug must not silently take the broker down without a trace; exit so the supervisor restarts it.
    logger.fatal({ err }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    logger.error({ err }, 'unhandled promise rejection');
  });

  let broker: Broker;
  try {
    // Loaded only here so --help and flag errors answer without loading the whole broker.
    const { startBroker } = await import('../broker.js');
    broker = await startBroker(config, { logger });
  } catch (err) {
    logger.fatal({ err }, 'broker failed to start');
    return 1;
  }

  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        resolve(1);
        return;
      }
      signalled = true;
      logger.info({ signal }, 'shutting down');
      // stop() bounds the request drain itself; this guards against a stuck close elsewhere.
      setTimeout(() => {
        logger.error({ timeoutMs: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time; exiting');
        resolve(1);
      }, SHUTDOWN_DEADLINE_MS).unref();
      broker.stop().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

// Run only as the entry point, not when imported by tests.
const entry = process.argv[1] ?? '';
if (/[\\/]cli[\\/]main\.(ts|js)$/.test(entry)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`chronik: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
