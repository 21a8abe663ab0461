import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface OperatorMetrics {
  registry: Registry;
  reconciles: Counter<'result'>;
  reconcileErrors: Counter<'reason'>;
  reconcileDuration: Histogram<'result'>;
  queueDepth: Gauge;
  isLeader: Gauge;
  operationSteps: Counter<'operation' | 'step'>;
}

export function createMetrics(): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'chronik_operator_process_' });
  return {
    registry,
    reconciles: new Counter({ name: 'chronik_operator_reconciles_total', help: 'Reconciles by result', labelNames: ['result'], registers: [registry] }),
    reconcileErrors: new Counter({ name: 'chronik_operator_reconcile_errors_total', help: 'Failed reconciles by reason', labelNames: ['reason'], registers: [registry] }),
    reconcileDuration: new Histogram({
      name: 'chronik_operator_reconcile_duration_seconds',
      help: 'Time spent in one reconcile',
      labelNames: ['result'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    queueDepth: new Gauge({ name: 'chronik_operator_workqueue_depth', help: 'Keys waiting in the work queue', registers: [registry] }),
    isLeader: new Gauge({ name: 'chronik_operator_leader', help: '1 while this replica holds the leader lease', registers: [registry] }),
    operationSteps: new Counter({ name: 'chronik_operator_operation_steps_total', help: 'Completed orchestration steps', labelNames: ['operation', 'step'], registers: [registry] }),
  };
}
