import { loadConfig } from './config.js';
import { KubeRest } from './kube/rest.js';
import { createLogger } from './observability/logger.js';
import { startOperator } from './operator.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`chronik-operator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel);
  let rest: KubeRest;
  try {
    rest = KubeRest.fromDefault(config.kubeconfig);
  } catch (err) {
    log.fatal({ err: err instanceof Error ? err.message : String(err) }, 'cannot load kubeconfig or in-cluster credentials');
    process.exit(2);
  }
  log.info({ server: rest.server.origin, namespaces: config.watchNamespaces.length ? config.watchNamespaces : 'all', identity: config.identity }, 'starting');
  const op = await startOperator({
    config,
    rest,
    log,
    // Continuing after losing the lease could race the new leader; a fresh process is safe.
    onLostLeadership: () => {
      log.error('leadership lost; exiting so a clean process rejoins the election');
      process.exit(1);
    },
  });
  let shuttingDown = false;
  const shutdown = (signal: string): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 25_000);
    force.unref();
    op.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err: String(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (err) => log.error({ err: String(err) }, 'unhandled rejection'));
}

void main();
