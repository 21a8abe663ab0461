/**
 * The log cleaner's metrics, read from its stats when /metrics is scraped (the broker registers
 * them next to the group-commit ones: `registerCleanerMetrics(metrics.registry, () =>
 * logManager.cleanerStats())`).
 */
import { Gauge, type Registry } from 'prom-client';
import type { CleanerPartitionStats, CleanerStats } from './cleaner.js';

const TOTALS: [keyof Omit<CleanerStats, 'partitions'>, string, string][] = [
  ['bytesRead', 'chronik_log_cleaner_read_bytes', 'Bytes the log cleaner read since start'],
  ['bytesWritten', 'chronik_log_cleaner_written_bytes', 'Bytes the log cleaner wrote since start'],
  ['passes', 'chronik_log_cleaner_passes', 'Cleaning passes run since start (a pass the log changed under stops early and runs again)'],
  ['errors', 'chronik_log_cleaner_errors', 'Cleaning passes that failed since start (each is retried with backoff)'],
];

export function registerCleanerMetrics(registry: Registry, stats: () => CleanerStats): void {
  for (const [field, name, help] of TOTALS) {
    if (registry.getSingleMetric(name)) continue;
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(stats()[field]);
      },
    });
  }
  const perPartition: [string, string, (p: CleanerPartitionStats) => number | null][] = [
    ['chronik_log_cleaner_dirty_ratio', 'Dirty share of the cleanable part of a compacted partition log', (p) => p.dirtyRatio],
    [
      'chronik_log_cleaner_last_clean_timestamp_seconds',
      'When the last cleaning pass of a compacted partition log completed (Unix seconds)',
      (p) => (p.lastCleanMs >= 0 ? p.lastCleanMs / 1000 : null),
    ],
    ['chronik_log_cleaner_partition_errors', 'Failed cleaning passes of a compacted partition log', (p) => p.errors],
  ];
  for (const [name, help, value] of perPartition) {
    if (registry.getSingleMetric(name)) continue;
    new Gauge({
      name,
      help,
      labelNames: ['topic', 'partition'],
      registers: [registry],
      collect() {
        this.reset();
        for (const p of stats().partitions.values()) {
          const v = value(p);
          if (v !== null) this.set({ topic: p.topic, partition: String(p.partition) }, v);
        }
      },
    });
  }
}
