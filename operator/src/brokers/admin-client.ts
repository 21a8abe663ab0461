import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type {
  BrokerAdmin,
  BrokerInfo,
  ClusterStatus,
  DecommissionStatus,
  MaintenanceStatus,
  RebalanceStatus,
} from './types.js';

const SERVICE = 'chronik.admin.v1.ChronikAdmin';

/** proto/admin.proto, found from this module in the source tree and in the image alike. */
export function defaultProtoPath(): string {
  return process.env.CHRONIK_ADMIN_PROTO ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../proto/admin.proto');
}

let cachedRoot: { file: string; root: protobuf.Root } | null = null;
export function loadAdminProto(file = defaultProtoPath()): protobuf.Root {
  if (cachedRoot?.file === file) return cachedRoot.root;
  const root = protobuf.loadSync(file);
  root.resolveAll();
  cachedRoot = { file, root };
  return root;
}

const CONVERSION: protobuf.IConversionOptions = { enums: String, longs: Number, defaults: true, arrays: true };

export class AdminCallError extends Error {
  constructor(
    readonly method: string,
    readonly code: grpc.status | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'AdminCallError';
  }
}

export interface AdminClientOptions {
  /** host:port of brokers' admin listeners; calls go to the first that answers. */
  endpoints: string[];
  deadlineMs?: number;
  protoPath?: string;
  credentials?: grpc.ChannelCredentials;
  /** Bearer token the brokers' --admin-token-file holds; sent with every call. */
  token?: string | null;
  /** Leadership of this operator: when it aborts, calls in flight are cancelled and new ones refused. */
  signal?: AbortSignal;
}

/**
 * Typed client for the ChronikAdmin service. Transport failures move on to the next
 * endpoint; an answer the broker gave (any status other than UNAVAILABLE/DEADLINE) is final.
 */
export class GrpcBrokerAdmin implements BrokerAdmin {
  private readonly root: protobuf.Root;
  private readonly clients: grpc.Client[];
  private readonly deadlineMs: number;
  private preferred = 0;

  constructor(private readonly opts: AdminClientOptions) {
    if (opts.endpoints.length === 0) throw new Error('GrpcBrokerAdmin: no endpoints');
    this.root = loadAdminProto(opts.protoPath);
    this.deadlineMs = opts.deadlineMs ?? 5_000;
    const creds = opts.credentials ?? grpc.credentials.createInsecure();
    this.clients = opts.endpoints.map((e) => new grpc.Client(e, creds));
  }

  private unaryOnce<Res>(client: grpc.Client, method: string, reqType: string, resType: string, req: object): Promise<Res> {
    const Req = this.root.lookupType(`chronik.admin.v1.${reqType}`);
    const Res = this.root.lookupType(`chronik.admin.v1.${resType}`);
    const err = Req.verify(req);
    if (err) return Promise.reject(new AdminCallError(method, grpc.status.INVALID_ARGUMENT, `${method}: ${err}`));
    const signal = this.opts.signal;
    if (signal?.aborted) return Promise.reject(new AdminCallError(method, grpc.status.CANCELLED, `${method}: not sent, this operator is no longer the leader`));
    const metadata = new grpc.Metadata();
    if (this.opts.token) metadata.set('authorization', `Bearer ${this.opts.token}`);
    return new Promise<Res>((resolve, reject) => {
      const call = client.makeUnaryRequest(
        `/${SERVICE}/${method}`,
        (m: object) => Buffer.from(Req.encode(Req.fromObject(m)).finish()),
        (b: Buffer) => Res.toObject(Res.decode(b), CONVERSION) as Res,
        req,
        metadata,
        { deadline: Date.now() + this.deadlineMs },
        (e: grpc.ServiceError | null, value?: Res) => {
          signal?.removeEventListener('abort', cancel);
          if (e) reject(new AdminCallError(method, e.code, `${method}: ${e.details || e.message}`));
          else if (value === undefined) reject(new AdminCallError(method, undefined, `${method}: empty response`));
          else resolve(value);
        },
      );
      const cancel = (): void => call.cancel();
      signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  private async call<Res>(method: string, reqType: string, resType: string, req: object): Promise<Res> {
    let last: unknown;
    for (let i = 0; i < this.clients.length; i++) {
      const idx = (this.preferred + i) % this.clients.length;
      try {
        const res = await this.unaryOnce<Res>(this.clients[idx]!, method, reqType, resType, req);
        this.preferred = idx;
        return res;
      } catch (e) {
        last = e;
        const code = e instanceof AdminCallError ? e.code : undefined;
        if (this.opts.signal?.aborted) throw e;
        if (code !== grpc.status.UNAVAILABLE && code !== grpc.status.DEADLINE_EXCEEDED) throw e;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  }

  getClusterStatus(): Promise<ClusterStatus> {
    return this.call('GetClusterStatus', 'GetClusterStatusRequest', 'ClusterStatus', {});
  }
  async addBroker(req: { brokerId: number; host: string; port: number; rack?: string }): Promise<{ broker: BrokerInfo | null }> {
    const res = await this.call<{ broker?: BrokerInfo | null }>('AddBroker', 'AddBrokerRequest', 'AddBrokerResponse', { ...req, rack: req.rack ?? '' });
    return { broker: res.broker ?? null };
  }
  decommissionBroker(brokerId: number): Promise<DecommissionStatus> {
    return this.call('DecommissionBroker', 'DecommissionBrokerRequest', 'DecommissionStatus', { brokerId });
  }
  getDecommissionStatus(brokerId: number): Promise<DecommissionStatus> {
    return this.call('GetDecommissionStatus', 'GetDecommissionStatusRequest', 'DecommissionStatus', { brokerId });
  }
  cancelDecommission(brokerId: number): Promise<DecommissionStatus> {
    return this.call('CancelDecommission', 'CancelDecommissionRequest', 'DecommissionStatus', { brokerId });
  }
  transferLeadership(req: { topic: string; partition: number; targetBrokerId: number }): Promise<{ leaderId: number; done: boolean }> {
    return this.call('TransferLeadership', 'TransferLeadershipRequest', 'TransferLeadershipResponse', req);
  }
  drainLeadership(brokerId: number): Promise<{ brokerId: number; leadershipsRemaining: number; done: boolean }> {
    return this.call('DrainLeadership', 'DrainLeadershipRequest', 'DrainLeadershipResponse', { brokerId });
  }
  setMaintenanceMode(brokerId: number, enabled: boolean): Promise<MaintenanceStatus> {
    return this.call('SetMaintenanceMode', 'SetMaintenanceModeRequest', 'MaintenanceStatus', { brokerId, enabled });
  }
  rebalance(req: { leadersOnly?: boolean; maxConcurrentMoves?: number } = {}): Promise<RebalanceStatus> {
    return this.call('Rebalance', 'RebalanceRequest', 'RebalanceStatus', req);
  }
  getRebalanceStatus(): Promise<RebalanceStatus> {
    return this.call('GetRebalanceStatus', 'GetRebalanceStatusRequest', 'RebalanceStatus', {});
  }
  close(): void {
    for (const c of this.clients) c.close();
  }
}
