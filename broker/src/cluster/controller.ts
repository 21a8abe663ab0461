/**
 * The controller: whichever broker leads the metadata group. It validates requests against the
 * image (one at a time, each after the previous one's records applied, so every command sees
 * the effects of the ones before it), proposes the resulting records, and keeps the metadata
 * group's membership in line with the registered brokers: every live broker a member, the
 * recorded voter intent as voters (a learner is promoted once it has caught up).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';
import { realTimers, type TimerHandle, type Timers } from '../platform/timers.js';
import { ConfChangeOp, Refusal } from '../raft/types.js';
import { AppendLock } from '../replication/append-lock.js';
import { NotLeaderError, type StateMachineReplica } from '../replication/state-machine-replica.js';
import { AdminOperations } from './admin-operations.js';
import {
  alterTopicConfigs,
  allocateProducerIds,
  createPartitions,
  createTopic,
  deleteTopic,
  registerBroker,
  reportPartitionState,
  setMaintenance,
  type CommandResult,
} from './controller-commands.js';
import type { ControllerReply, ControllerRequest } from './controller-protocol.js';
import type { MetadataMachine } from './metadata-machine.js';
import { encodeRecords } from './metadata-machine.js';
import type { MetadataRecord } from './metadata-records.js';
import { applyMetadataRecord, type MetadataState } from './metadata-state.js';
import { planMetadataVoters } from './metadata-voters.js';

export interface ControllerOptions {
  readonly nodeId: number;
  readonly replica: StateMachineReplica;
  readonly machine: MetadataMachine;
  /** The founding metadata voters (node ids), the voter intent until one is recorded. */
  readonly initialVoters: readonly number[];
  readonly brokerDefaults: () => Readonly<Record<string, string>>;
  /** Whether this broker reaches `nodeId` now; new replicas go to live brokers first. */
  readonly isLive?: (nodeId: number) => boolean;
  readonly logger: Logger;
  /** The membership reconciliation's timer (Node's by default; the system simulator's virtual one). */
  readonly timers?: Timers;
  /** Ids for new topics (random UUIDs by default; seeded in the system simulator). */
  readonly newTopicId?: () => string;
}

/** A learner this close to the leader's last index counts as caught up for promotion. */
const PROMOTE_LAG_ENTRIES = 64;

function fail(code: number, message: string): ControllerReply {
  return { ok: false, code, message };
}

export class Controller {
  private readonly lock = new AppendLock();
  private readonly opts: ControllerOptions;
  /** First index of the current term while leading: the image is current once it is applied. */
  private termStart = 0;
  private reconciling = false;
  private timer: TimerHandle | null = null;
  private readonly timers: Timers;
  /** Decommission, rebalance and replica-move bookkeeping (admin-operations.ts). */
  readonly admin: AdminOperations;

  constructor(opts: ControllerOptions) {
    this.opts = opts;
    this.timers = opts.timers ?? realTimers;
    this.admin = new AdminOperations({
      nodeId: opts.nodeId,
      image: () => opts.machine.state,
      replica: opts.replica,
      commit: async (records) => {
        const reply = await this.commit({ ok: true, records, value: null }, false);
        if (!reply.ok) throw new KafkaError(reply.code, reply.message);
        return reply.index;
      },
      logger: opts.logger,
    });
  }

  start(): void {
    this.timer = this.timers.setInterval(() => void this.reconcileMembership(), 500);
  }

  stop(): void {
    if (this.timer) this.timers.clearInterval(this.timer);
    this.timer = null;
  }

  get active(): boolean {
    return this.opts.replica.isLeader();
  }

  /** Leadership of the metadata group changed (called by the cluster). */
  onLeaderChange(): void {
    if (this.active) this.termStart = this.opts.replica.node.lastIndex;
  }

  /** Serves one request; never throws (errors become replies). */
  handle(req: ControllerRequest): Promise<ControllerReply> {
    return this.lock.run(async () => {
      if (!this.active) {
        const leader = this.opts.replica.leader();
        return fail(ErrorCode.NOT_CONTROLLER, leader === null ? 'There is no controller at the moment' : `Broker ${leader} is the controller`);
      }
      try {
        await this.opts.replica.waitApplied(this.termStart);
        return await this.execute(req);
      } catch (err) {
        if (err instanceof NotLeaderError) return fail(ErrorCode.NOT_CONTROLLER, `The controller moved: ${err.message}`);
        if (err instanceof KafkaError) return fail(err.code, err.message);
        if (err instanceof TypeError) return fail(ErrorCode.INVALID_REQUEST, `Malformed ${req.op} request: ${err.message}`);
        this.opts.logger.error({ err, op: req.op }, 'controller request failed');
        return fail(ErrorCode.UNKNOWN_SERVER_ERROR, err instanceof Error ? err.message : String(err));
      }
    });
  }

  private async execute(req: ControllerRequest): Promise<ControllerReply> {
    const image = this.opts.machine.state;
    const ctx = { brokerDefaults: this.opts.brokerDefaults(), newTopicId: this.opts.newTopicId ?? randomUUID, ...(this.opts.isLive ? { isLive: this.opts.isLive } : {}) };
    switch (req.op) {
      case 'create-topic':
        return this.commit(createTopic(image, req.topic, ctx), req.validateOnly);
      case 'delete-topic':
        return this.commit(deleteTopic(image, { name: req.name }), false);
      case 'create-partitions':
        return this.commit(createPartitions(image, { name: req.name, totalCount: req.totalCount }, this.opts.isLive), req.validateOnly);
      case 'alter-configs':
        return this.commit(alterTopicConfigs(image, req.name, req.configs, req.incremental), req.validateOnly);
      case 'register-broker':
        return this.commit(registerBroker(image, req.broker), false);
      case 'allocate-producer-ids':
        return this.commit(allocateProducerIds(image, { nodeId: req.nodeId }), false);
      case 'set-maintenance':
        return this.commit(setMaintenance(image, req.nodeId, req.maintenance), false);
      case 'complete-reassignment':
      case 'decommission':
      case 'cancel-decommission':
      case 'add-broker':
      case 'rebalance':
      case 'rebalance-status':
        return this.admin.execute(req);
      case 'report-partitions': {
        // Each report is checked against the image the earlier ones produce; stale ones are dropped.
        let scratch: MetadataState = image;
        const records: MetadataRecord[] = [];
        for (const r of req.reports) {
          const result = reportPartitionState(scratch, r);
          if (!result.ok) continue;
          for (const rec of result.records) {
            scratch = applyMetadataRecord(scratch, rec);
            records.push(rec);
          }
        }
        return this.commit({ ok: true, records, value: records.length }, false);
      }
    }
  }

  private async commit<T>(result: CommandResult<T>, validateOnly: boolean): Promise<ControllerReply> {
    if (!result.ok) return fail(result.error.code, result.error.message);
    if (validateOnly || result.records.length === 0) return { ok: true, index: this.opts.machine.applied, value: result.value };
    const index = await this.opts.replica.propose(encodeRecords(result.records));
    await this.opts.replica.waitApplied(index);
    return { ok: true, index, value: result.value };
  }

  /**
   * Brings the metadata group's raft membership in line with the image: registered live brokers
   * join as learners, the recorded voters are promoted once caught up, removed brokers leave.
   * One change at a time (the core refuses a second while one is pending).
   */
  private async reconcileMembership(): Promise<void> {
    if (!this.active || this.reconciling) return;
    this.reconciling = true;
    try {
      await this.lock.run(async () => {
        if (!this.active) return;
        await this.opts.replica.waitApplied(this.termStart);
        const image = this.opts.machine.state;
        if (image.metadataVoters.length === 0 && this.opts.initialVoters.every((v) => image.brokers.has(v))) {
          await this.commit({ ok: true, records: [{ type: 'set-metadata-voters', voters: [...this.opts.initialVoters] }], value: null }, false);
          return;
        }
        const planned = image.metadataVoters.length > 0 ? planMetadataVoters(image) : null;
        if (planned && planned.join(',') !== image.metadataVoters.join(',')) {
          await this.commit({ ok: true, records: [{ type: 'set-metadata-voters', voters: [...planned] }], value: null }, false);
          return;
        }
        this.changeMembership(image);
        await this.admin.reconcile();
      });
    } catch (err) {
      if (!(err instanceof NotLeaderError)) this.opts.logger.warn({ err }, 'metadata membership reconciliation failed');
    } finally {
      this.reconciling = false;
    }
  }

  private changeMembership(image: MetadataState): void {
    const node = this.opts.replica.node;
    const conf = node.conf;
    const raft = (id: number): number => id + 1;
    const desiredVoters = new Set(image.metadataVoters.length > 0 ? image.metadataVoters : this.opts.initialVoters);
    const propose = (op: ConfChangeOp, id: number, why: string): boolean => {
      const r = node.proposeMembershipChange({ op, node: raft(id) });
      if (r > 0) {
        this.opts.logger.info({ broker: id, op, why }, 'metadata group membership change proposed');
        return true;
      }
      if (r === Refusal.InvalidConfChange) this.opts.logger.warn({ broker: id, op, reason: node.lastRefusalReason }, 'metadata membership change refused');
      return false;
    };
    for (const b of image.brokers.values()) {
      const member = conf.voters.includes(raft(b.nodeId)) || conf.learners.includes(raft(b.nodeId));
      if (b.state === 'removed') {
        if (member && b.nodeId !== this.opts.nodeId && propose(ConfChangeOp.Remove, b.nodeId, 'removed')) return this.wake();
        continue;
      }
      if (!member && propose(ConfChangeOp.AddLearner, b.nodeId, 'registered')) return this.wake();
    }
    for (const id of desiredVoters) {
      if (!conf.learners.includes(raft(id))) continue;
      const pr = node.progressOf(raft(id));
      if (pr !== undefined && pr.match + PROMOTE_LAG_ENTRIES >= node.lastIndex && propose(ConfChangeOp.AddVoter, id, 'voter intent')) return this.wake();
    }
  }

  private wake(): void {
    this.opts.replica.wakeHost();
  }
}
