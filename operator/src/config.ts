import os from 'node:os';

/** The operator's settings, from CHRONIK_OPERATOR_* environment variables (set by the chart). */
export interface OperatorConfig {
  watchNamespaces: string[];
  leaseNamespace: string;
  leaseName: string;
  identity: string;
  defaultBrokerImage: string;
  httpHost: string;
  httpPort: number;
  logLevel: string;
  clusterDomain: string;
  workers: number;
  kubeconfig?: string;
}

function int(env: NodeJS.ProcessEnv, key: string, dflt: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${key}: expected an integer in [${min}, ${max}], got "${raw}"`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const ns = env.CHRONIK_OPERATOR_NAMESPACE ?? env.POD_NAMESPACE ?? 'default';
  const level = env.CHRONIK_OPERATOR_LOG_LEVEL ?? env.LOG_LEVEL ?? 'info';
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal'].includes(level)) throw new Error(`CHRONIK_OPERATOR_LOG_LEVEL: unknown level "${level}"`);
  return {
    watchNamespaces: (env.CHRONIK_OPERATOR_WATCH_NAMESPACES ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    leaseNamespace: ns,
    leaseName: env.CHRONIK_OPERATOR_LEASE_NAME ?? 'chronik-operator-leader',
    identity: env.POD_NAME ?? `${os.hostname()}-${process.pid}`,
    defaultBrokerImage: env.CHRONIK_OPERATOR_BROKER_IMAGE ?? 'chronik/broker:0.1.0',
    httpHost: env.CHRONIK_OPERATOR_HTTP_HOST ?? '0.0.0.0',
    httpPort: int(env, 'CHRONIK_OPERATOR_HTTP_PORT', 8080, 0, 65535),
    logLevel: level,
    clusterDomain: env.CHRONIK_OPERATOR_CLUSTER_DOMAIN ?? 'cluster.local',
    workers: int(env, 'CHRONIK_OPERATOR_WORKERS', 4, 1, 64),
    kubeconfig: env.KUBECONFIG || undefined,
  };
}
