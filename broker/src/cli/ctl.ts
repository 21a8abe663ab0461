/**
 * `chronik ctl`: the admin service (proto/admin.proto) from a terminal. Each command is one or a
 * few calls to one broker's admin listener; tables by default, `--output json` for scripts.
 * `--wait` polls until the operation is done, showing progress on stderr. Exit code 0: done;
 * 1: the call failed or the operation is not done; 2: bad usage (the message names the flag).
 */
import { readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { AdminCallError, AdminClient } from '../admin/client.js';
import type { AdminMethod } from '../admin/proto.js';
import type { AdminResponses, BrokerInfo, ClusterStatus, DecommissionStatus, MaintenanceStatus, PartitionInfo, RebalanceStatus } from '../admin/types.js';
import { closestName } from '../config/suggest.js';

export const CTL_USAGE = `Usage: chronik ctl --admin HOST:PORT [options] <command> [arguments]

Commands:
  status                              the cluster: controller, partitions, groups, brokers
  brokers                             the brokers, their state, leaders, replicas, lag
  partitions [--under-replicated] [--topic T]
                                      every partition's leader, replicas and in-sync replicas
  decommission ID [--wait]            move every replica off broker ID, then take it out
  cancel-decommission ID              stop a decommission; moved partitions stay where they are
  transfer TOPIC PARTITION [--to ID]  move a partition's leadership (to ID, or the best replica)
  drain ID                            move every leadership off broker ID
  maintenance ID on|off [--wait]      broker ID leads nothing while on (--wait: until drained)
  rebalance [--wait] [--leaders-only] [--max-moves N]
                                      even out replicas and leaders over the brokers

Options:
  --admin HOST:PORT     a broker's admin listener (or CHRONIK_ADMIN)
  --token-file FILE     the bearer token, when the brokers require one (or CHRONIK_ADMIN_TOKEN_FILE)
  --output FORMAT       table (default) or json
  --timeout SECONDS     deadline of each call (default 15)
  --wait-timeout SECONDS  how long --wait waits (default 3600)
  -h, --help            this text

Exit codes: 0 done, 1 failed or not done, 2 bad usage.
`;

export class CtlUsageError extends Error {}

type Command = 'status' | 'brokers' | 'partitions' | 'decommission' | 'cancel-decommission' | 'transfer' | 'drain' | 'maintenance' | 'rebalance';
const COMMANDS: readonly Command[] = ['status', 'brokers', 'partitions', 'decommission', 'cancel-decommission', 'transfer', 'drain', 'maintenance', 'rebalance'];

/** Which flags each command takes beyond the common ones (value: whether the flag takes a value). */
const COMMAND_FLAGS: Readonly<Record<Command, Readonly<Record<string, boolean>>>> = {
  status: {},
  brokers: {},
  partitions: { '--under-replicated': false, '--topic': true },
  decommission: { '--wait': false },
  'cancel-decommission': {},
  transfer: { '--to': true },
  drain: {},
  maintenance: { '--wait': false },
  rebalance: { '--wait': false, '--leaders-only': false, '--max-moves': true },
};
const COMMON_FLAGS: Readonly<Record<string, boolean>> = {
  '--admin': true,
  '--token-file': true,
  '--output': true,
  '--timeout': true,
  '--wait-timeout': true,
  '--help': false,
  '-h': false,
};

export interface CtlOptions {
  readonly admin: string;
  readonly tokenFile: string | null;
  readonly output: 'table' | 'json';
  readonly timeoutMs: number;
  readonly waitTimeoutMs: number;
  readonly command: Command;
  readonly args: readonly string[];
  readonly flags: Readonly<Record<string, string | true>>;
}

function suggest(word: string, candidates: readonly string[]): string {
  const near = closestName(word, candidates);
  return near ? ` (did you mean '${near}'?)` : '';
}

function seconds(flag: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 86_400 * 7) throw new CtlUsageError(`${flag} must be a number of seconds, got '${raw}'`);
  return Math.round(n * 1000);
}

/** Parses the command line; throws CtlUsageError naming the bad flag or argument. null = --help. */
export function parseCtlArgs(argv: readonly string[], env: NodeJS.ProcessEnv): CtlOptions | null {
  const words: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('-') || /^-\d/.test(arg)) {
      words.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const command = COMMANDS.find((c) => c === words[0]);
    const known = { ...COMMON_FLAGS, ...(command ? COMMAND_FLAGS[command] : {}) };
    if (!(name in known)) {
      const all = [...Object.keys(known), ...COMMANDS.flatMap((c) => Object.keys(COMMAND_FLAGS[c]))];
      const where = command && Object.values(COMMAND_FLAGS).some((f) => name in f) ? ` for '${command}'` : '';
      throw new CtlUsageError(`unknown option '${name}'${where}${where ? '' : suggest(name, all)}`);
    }
    if (name === '--help' || name === '-h') return null;
    if (known[name]) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw new CtlUsageError(`${name} needs a value`);
      flags[name] = value;
    } else {
      if (eq > 0) throw new CtlUsageError(`${name} takes no value`);
      flags[name] = true;
    }
  }
  const [word, ...args] = words;
  if (word === undefined) throw new CtlUsageError('a command is required (status, brokers, partitions, decommission, transfer, drain, maintenance, rebalance)');
  const command = COMMANDS.find((c) => c === word);
  if (!command) throw new CtlUsageError(`unknown command '${word}'${suggest(word, COMMANDS)}`);
  const admin = (flags['--admin'] as string | undefined) ?? env['CHRONIK_ADMIN'];
  if (!admin) throw new CtlUsageError('--admin HOST:PORT is required (or set CHRONIK_ADMIN)');
  if (!/^(\[[^\]]+\]|[^\s:]+):\d{1,5}$/.test(admin) || Number(admin.slice(admin.lastIndexOf(':') + 1)) > 65535) {
    throw new CtlUsageError(`--admin must be HOST:PORT, got '${admin}'`);
  }
  const output = (flags['--output'] as string | undefined) ?? 'table';
  if (output !== 'table' && output !== 'json') throw new CtlUsageError(`--output must be table or json, got '${output}'`);
  const o: CtlOptions = {
    admin,
    tokenFile: (flags['--token-file'] as string | undefined) ?? env['CHRONIK_ADMIN_TOKEN_FILE'] ?? null,
    output,
    timeoutMs: flags['--timeout'] ? seconds('--timeout', flags['--timeout'] as string) : 15_000,
    waitTimeoutMs: flags['--wait-timeout'] ? seconds('--wait-timeout', flags['--wait-timeout'] as string) : 3_600_000,
    command,
    args,
    flags,
  };
  checkArgs(o);
  return o;
}

const ARITY: Readonly<Record<Command, readonly string[]>> = {
  status: [],
  brokers: [],
  partitions: [],
  decommission: ['ID'],
  'cancel-decommission': ['ID'],
  transfer: ['TOPIC', 'PARTITION'],
  drain: ['ID'],
  maintenance: ['ID', 'on|off'],
  rebalance: [],
};

function checkArgs(o: CtlOptions): void {
  const want = ARITY[o.command];
  if (o.args.length !== want.length) {
    const usage = [o.command, ...want].join(' ');
    throw new CtlUsageError(o.args.length < want.length ? `'${o.command}' needs ${want.slice(o.args.length).join(' ')} (${usage})` : `unexpected argument '${o.args[want.length]}' (${usage})`);
  }
  want.forEach((name, i) => {
    const v = o.args[i] as string;
    if (name === 'ID' && !/^\d+$/.test(v)) throw new CtlUsageError(`${o.command}: ID must be a broker id, got '${v}'`);
    if (name === 'PARTITION' && !/^\d+$/.test(v)) throw new CtlUsageError(`${o.command}: PARTITION must be a partition number, got '${v}'`);
    if (name === 'on|off' && v !== 'on' && v !== 'off') throw new CtlUsageError(`maintenance: the mode must be on or off, got '${v}'`);
  });
  const to = o.flags['--to'];
  if (typeof to === 'string' && !/^\d+$/.test(to)) throw new CtlUsageError(`--to must be a broker id, got '${to}'`);
  const moves = o.flags['--max-moves'];
  if (typeof moves === 'string' && !/^\d+$/.test(moves)) throw new CtlUsageError(`--max-moves must be a number, got '${moves}'`);
}

// ------------------------------------------------------------ output

function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ').trimEnd()).join('\n') + '\n';
}

const stateName = (s: string): string => s.replace(/^BROKER_STATE_/, '').toLowerCase();

function brokersTable(brokers: readonly BrokerInfo[]): string {
  return table(
    ['ID', 'ADDRESS', 'RACK', 'STATE', 'VOTER', 'LEADERS', 'REPLICAS', 'LAGGING', 'VERSION'],
    brokers.map((b) => [b.brokerId, `${b.host}:${b.port}`, b.rack || '-', stateName(b.state), b.metadataVoter ? 'yes' : 'no', b.leaderCount, b.replicaCount, b.laggingReplicaCount, b.version || '-']),
  );
}

function statusText(s: ClusterStatus): string {
  const lines = [
    `cluster ${s.clusterId}, answered by broker ${s.respondingBrokerId}; controller: ${s.controllerId >= 0 ? `broker ${s.controllerId}` : 'none (an election is due)'}`,
    `${s.topicCount} topics, ${s.partitionCount} partitions: ${s.underReplicatedPartitions} under-replicated, ${s.underMinIsrPartitions} under min ISR, ${s.offlinePartitions} offline`,
    `${s.consumerGroupCount} consumer groups, total lag ${s.totalConsumerLag}; metadata at offset ${s.metadataOffset}`,
    '',
  ];
  return lines.join('\n') + brokersTable(s.brokers);
}

const ids = (l: readonly number[]): string => (l.length === 0 ? '-' : l.join(','));

function partitionsTable(ps: readonly PartitionInfo[]): string {
  if (ps.length === 0) return 'no partitions\n';
  return table(
    ['TOPIC', 'PARTITION', 'LEADER', 'EPOCH', 'REPLICAS', 'ISR', 'ADDING', 'REMOVING', 'STATUS'],
    ps.map((p) => [
      p.topic,
      p.partition,
      p.leaderId >= 0 ? p.leaderId : '-',
      p.leaderEpoch,
      ids(p.replicas),
      ids(p.isr),
      ids(p.addingReplicas),
      ids(p.removingReplicas),
      p.offline ? 'offline' : p.underReplicated ? 'under-replicated' : 'ok',
    ]),
  );
}

function decommissionText(d: DecommissionStatus): string {
  const bytes = d.bytesRemaining > 0 ? `, ${formatBytes(d.bytesRemaining)} on disk` : '';
  const blocked = d.blockedReason ? `; blocked: ${d.blockedReason}` : '';
  return `broker ${d.brokerId}: ${stateName(d.state)}, ${d.replicasRemaining}/${d.replicasTotal} replicas left, ${d.movesInProgress} moving${bytes}${d.done ? '; done' : ''}${blocked}\n`;
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

function maintenanceText(m: MaintenanceStatus): string {
  return `broker ${m.brokerId}: maintenance ${m.enabled ? 'on' : 'off'}, ${m.leadershipsRemaining} leaderships held${m.drained ? '; drained' : ''}\n`;
}

function rebalanceText(r: RebalanceStatus): string {
  const what = r.done ? 'done' : r.inProgress ? 'in progress' : 'not running';
  return `rebalance ${r.id || '-'}: ${what}, ${r.movesDone}/${r.movesPlanned} moves done\n`;
}

// ------------------------------------------------------------ running

export interface CtlIo {
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
  /** Pause between progress polls (ms). */
  readonly pollMs?: number;
}

class Ctl {
  constructor(
    private readonly o: CtlOptions,
    private readonly client: AdminClient,
    private readonly io: CtlIo,
  ) {}

  private call<M extends AdminMethod>(method: M, req: Readonly<Record<string, unknown>> = {}): Promise<AdminResponses[M]> {
    return this.client.call(method, req, this.o.timeoutMs);
  }

  private show(value: unknown, text: string): void {
    this.io.out.write(this.o.output === 'json' ? `${JSON.stringify(value, null, 2)}\n` : text);
  }

  /** Polls `next` until `done`, printing each new progress line to stderr; resolves to the last answer. */
  private async until<T>(first: T, next: () => Promise<T>, done: (v: T) => boolean, line: (v: T) => string): Promise<T> {
    let v = first;
    let last = '';
    const deadline = Date.now() + this.o.waitTimeoutMs;
    for (;;) {
      const l = line(v);
      if (l !== last) this.io.err.write(l);
      last = l;
      if (done(v)) return v;
      if (Date.now() >= deadline) throw new Error(`not done after ${Math.round(this.o.waitTimeoutMs / 1000)} s (--wait-timeout)`);
      await new Promise((r) => setTimeout(r, this.io.pollMs ?? 1000));
      try {
        v = await next();
      } catch (err) {
        // A status poll that met a controller election (no controller, or one still taking
        // over) is worth another try while the wait lasts.
        if (!(err instanceof AdminCallError) || (err.code !== status.UNAVAILABLE && err.code !== status.DEADLINE_EXCEEDED)) throw err;
      }
    }
  }

  async run(): Promise<number> {
    const [a, b] = this.o.args;
    const wait = this.o.flags['--wait'] === true;
    switch (this.o.command) {
      case 'status': {
        const s = await this.call('GetClusterStatus');
        this.show(s, statusText(s));
        return 0;
      }
      case 'brokers': {
        const s = await this.call('GetClusterStatus');
        this.show(s.brokers, brokersTable(s.brokers));
        return 0;
      }
      case 'partitions': {
        const topic = typeof this.o.flags['--topic'] === 'string' ? this.o.flags['--topic'] : '';
        const r = await this.call('ListPartitions', { topic, underReplicatedOnly: this.o.flags['--under-replicated'] === true });
        this.show(r.partitions, partitionsTable(r.partitions));
        return 0;
      }
      case 'decommission': {
        const brokerId = Number(a);
        let d = await this.call('DecommissionBroker', { brokerId });
        if (wait) d = await this.until(d, () => this.call('GetDecommissionStatus', { brokerId }), (x) => x.done, decommissionText);
        this.show(d, decommissionText(d));
        return 0;
      }
      case 'cancel-decommission': {
        const d = await this.call('CancelDecommission', { brokerId: Number(a) });
        this.show(d, decommissionText(d));
        return 0;
      }
      case 'transfer': {
        const to = typeof this.o.flags['--to'] === 'string' ? Number(this.o.flags['--to']) : -1;
        const r = await this.call('TransferLeadership', { topic: a, partition: Number(b), targetBrokerId: to });
        this.show(r, r.done ? `${a}-${b}: led by broker ${r.leaderId}\n` : `${a}-${b}: not moved; led by ${r.leaderId >= 0 ? `broker ${r.leaderId}` : 'nobody right now'}\n`);
        return r.done ? 0 : 1;
      }
      case 'drain': {
        const r = await this.call('DrainLeadership', { brokerId: Number(a) });
        this.show(r, `broker ${r.brokerId}: ${r.leadershipsRemaining} leaderships left${r.done ? '; drained' : ''}\n`);
        return r.done ? 0 : 1;
      }
      case 'maintenance': {
        const brokerId = Number(a);
        const enabled = b === 'on';
        let m = await this.call('SetMaintenanceMode', { brokerId, enabled });
        if (wait && enabled) m = await this.until(m, () => this.call('SetMaintenanceMode', { brokerId, enabled }), (x) => x.drained, maintenanceText);
        this.show(m, maintenanceText(m));
        return 0;
      }
      case 'rebalance': {
        const moves = typeof this.o.flags['--max-moves'] === 'string' ? Number(this.o.flags['--max-moves']) : 0;
        let r = await this.call('Rebalance', { leadersOnly: this.o.flags['--leaders-only'] === true, maxConcurrentMoves: moves });
        if (wait) r = await this.until(r, () => this.call('GetRebalanceStatus'), (x) => x.done, rebalanceText);
        this.show(r, rebalanceText(r));
        return 0;
      }
    }
  }
}

/** Runs `chronik ctl` with the given arguments; resolves to the exit code. */
export async function runCtl(argv: readonly string[], env: NodeJS.ProcessEnv, io: CtlIo): Promise<number> {
  let o: CtlOptions | null;
  try {
    o = parseCtlArgs(argv, env);
  } catch (err) {
    if (err instanceof CtlUsageError) {
      io.err.write(`chronik ctl: ${err.message}\nRun 'chronik ctl --help' for the commands.\n`);
      return 2;
    }
    throw err;
  }
  if (o === null) {
    io.out.write(CTL_USAGE);
    return 0;
  }
  let token: string | null = null;
  if (o.tokenFile !== null) {
    try {
      token = readFileSync(o.tokenFile, 'utf8').trim();
    } catch (err) {
      io.err.write(`chronik ctl: --token-file ${o.tokenFile} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
      return 2;
    }
  }
  const client = new AdminClient({ address: o.admin, token, deadlineMs: o.timeoutMs });
  try {
    return await new Ctl(o, client, io).run();
  } catch (err) {
    io.err.write(`chronik ctl: ${o.command} failed: ${err instanceof AdminCallError ? `${err.details} (${status[err.code] ?? err.code})` : (err as Error).message}\n`);
    return 1;
  } finally {
    client.close();
  }
}
