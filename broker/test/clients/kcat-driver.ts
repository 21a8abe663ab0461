import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ClientDriver, ConsumedMessage, GroupMember } from './driver.js';

// Field separator for kcat's -f output; values in the tests never contain it.
const SEP = '\u0001';
const FORMAT = `%p${SEP}%o${SEP}%k${SEP}%s\\n`;

function parseLine(line: string): ConsumedMessage | null {
  const parts = line.split(SEP);
  if (parts.length !== 4) return null;
  return { partition: Number(parts[0]), offset: Number(parts[1]), key: parts[2] === '' ? null : (parts[2] ?? null), value: parts[3] ?? '' };
}

function groupArgs(bootstrap: string, group: string, topic: string): string[] {
  return [
    '-u', '-b', bootstrap, '-G', group,
    '-X', 'auto.offset.reset=earliest',
    '-X', 'auto.commit.interval.ms=100',
    '-X', 'session.timeout.ms=10000',
    '-X', 'heartbeat.interval.ms=500',
    '-f', FORMAT, topic,
  ];
}

/** kcat (librdkafka 2.0.2 from Debian): produce from stdin, balanced consumer with -G. */
export const kcatDriver: ClientDriver = {
  name: 'kcat',
  compressions: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
  produce(bootstrap, topic, messages, opts) {
    return new Promise((resolve, reject) => {
      const args = ['-b', bootstrap, '-P', '-t', topic, '-K', '\t', '-z', opts.compression, '-X', 'acks=all', '-X', 'enable.idempotence=true'];
      const child = spawn('kcat', args, { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        // kcat reports failed deliveries on stderr but may still exit 0.
        if (code !== 0 || /Delivery failed|ERROR/i.test(err)) reject(new Error(`kcat produce exited ${code}: ${err.slice(-2000)}`));
        else resolve();
      });
      child.stdin.end(messages.map((m) => `${m.key ?? ''}\t${m.value}\n`).join(''));
    });
  },
  consume(bootstrap, topic, group, count, timeoutMs) {
    return new Promise((resolve, reject) => {
      const child = spawn('kcat', ['-c', String(count), ...groupArgs(bootstrap, group, topic)], { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: ConsumedMessage[] = [];
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        const m = parseLine(line);
        if (m) out.push(m);
      });
      const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        if (out.length >= count) resolve(out);
        else reject(new Error(`kcat consume got ${out.length}/${count} (exit ${code}): ${err}`));
      });
    });
  },
  joinGroup(bootstrap, topic, group): Promise<GroupMember> {
    const child = spawn('kcat', groupArgs(bootstrap, group, topic), { stdio: ['ignore', 'pipe', 'pipe'] });
    const owned = new Set<number>();
    const messages: ConsumedMessage[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = parseLine(line);
      if (m) messages.push(m);
    });
    // kcat announces every rebalance on stderr: "% Group G rebalanced (memberid ...): assigned: t [0], t [1]".
    createInterface({ input: child.stderr }).on('line', (line) => {
      const m = /rebalanced .*: (assigned|revoked): (.*)$/.exec(line);
      if (!m) return;
      const parts = [...(m[2] ?? '').matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]));
      if (m[1] === 'assigned') {
        owned.clear();
        for (const p of parts) owned.add(p);
      } else {
        for (const p of parts) owned.delete(p);
      }
    });
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    return Promise.resolve({
      owned: () => owned,
      messages: () => messages,
      async stop() {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      },
    });
  },
};
