import * as grpc from '@grpc/grpc-js';
import { loadAdminProto } from '../../src/brokers/admin-client.js';
import type { BrokerState } from '../../src/brokers/types.js';

/**
 * A stand-in for the brokers' admin service (the broker does not implement it yet), served
 * over real gRPC on 127.0.0.1 from proto/admin.proto. It is not a Kubernetes fake: it plays the
 * brokers' side of the contract so controller tests can check the operator asks before acting.
 */
interface FakeBroker {
  id: number;
  state: BrokerState;
  maintenance: boolean;
  leaders: number;
}

export interface FakeBrokerCall {
  method: string;
  request: Record<string, unknown>;
}

const METHODS: [string, string, string][] = [
  ['GetClusterStatus', 'GetClusterStatusRequest', 'ClusterStatus'],
  ['AddBroker', 'AddBrokerRequest', 'AddBrokerResponse'],
  ['DecommissionBroker', 'DecommissionBrokerRequest', 'DecommissionStatus'],
  ['GetDecommissionStatus', 'GetDecommissionStatusRequest', 'DecommissionStatus'],
  ['CancelDecommission', 'CancelDecommissionRequest', 'DecommissionStatus'],
  ['TransferLeadership', 'TransferLeadershipRequest', 'TransferLeadershipResponse'],
  ['DrainLeadership', 'DrainLeadershipRequest', 'DrainLeadershipResponse'],
  ['SetMaintenanceMode', 'SetMaintenanceModeRequest', 'MaintenanceStatus'],
  ['Rebalance', 'RebalanceRequest', 'RebalanceStatus'],
  ['GetRebalanceStatus', 'GetRebalanceStatusRequest', 'RebalanceStatus'],
];

export class FakeBrokers {
  readonly calls: FakeBrokerCall[] = [];
  readonly brokers = new Map<number, FakeBroker>();
  /** While set, decommissions never finish (to test that scale-down waits). */
  holdDecommission = false;
  private server = new grpc.Server();
  port = 0;

  private broker(id: number): FakeBroker {
    let b = this.brokers.get(id);
    if (!b) {
      b = { id, state: 'BROKER_STATE_ACTIVE', maintenance: false, leaders: 1 };
      this.brokers.set(id, b);
    }
    return b;
  }

  private decom(b: FakeBroker): Record<string, unknown> {
    return { brokerId: b.id, state: b.state, replicasRemaining: b.state === 'BROKER_STATE_DECOMMISSIONED' ? 0 : 2, replicasTotal: 2, done: b.state === 'BROKER_STATE_DECOMMISSIONED', blockedReason: '' };
  }

  private handle(method: string, req: Record<string, unknown>): Record<string, unknown> {
    this.calls.push({ method, request: req });
    const id = Number(req.brokerId ?? -1);
    switch (method) {
      case 'GetClusterStatus':
        return {
          clusterId: 'fake',
          controllerId: 0,
          respondingBrokerId: 0,
          brokers: [...this.brokers.values()].map((b) => ({ brokerId: b.id, host: '', port: 9092, state: b.state, leaderCount: b.leaders })),
          underReplicatedPartitions: 0,
          offlinePartitions: 0,
        };
      case 'AddBroker':
        return { broker: { brokerId: this.broker(id).id, state: 'BROKER_STATE_ACTIVE' } };
      case 'DecommissionBroker': {
        const b = this.broker(id);
        if (b.state !== 'BROKER_STATE_DECOMMISSIONED') b.state = 'BROKER_STATE_DECOMMISSIONING';
        return this.decom(b);
      }
      case 'GetDecommissionStatus': {
        const b = this.broker(id);
        if (b.state === 'BROKER_STATE_DECOMMISSIONING' && !this.holdDecommission) b.state = 'BROKER_STATE_DECOMMISSIONED';
        return this.decom(b);
      }
      case 'CancelDecommission': {
        const b = this.broker(id);
        b.state = 'BROKER_STATE_ACTIVE';
        return this.decom(b);
      }
      case 'SetMaintenanceMode': {
        const b = this.broker(id);
        b.maintenance = Boolean(req.enabled);
        b.leaders = b.maintenance ? 0 : 1;
        b.state = b.maintenance ? 'BROKER_STATE_MAINTENANCE' : 'BROKER_STATE_ACTIVE';
        return { brokerId: id, enabled: b.maintenance, leadershipsRemaining: b.leaders, drained: b.maintenance };
      }
      case 'DrainLeadership':
        return { brokerId: id, leadershipsRemaining: 0, done: true };
      case 'TransferLeadership':
        return { leaderId: Number(req.targetBrokerId ?? 0), done: true };
      case 'Rebalance':
      case 'GetRebalanceStatus':
        return { id: 'r1', inProgress: false, movesPlanned: 0, movesDone: 0, done: true };
    }
    throw new Error(`unknown method ${method}`);
  }

  async start(): Promise<string> {
    const root = loadAdminProto();
    const def: Record<string, grpc.MethodDefinition<object, object>> = {};
    const impl: grpc.UntypedServiceImplementation = {};
    for (const [m, reqT, resT] of METHODS) {
      const Req = root.lookupType(`chronik.admin.v1.${reqT}`);
      const Res = root.lookupType(`chronik.admin.v1.${resT}`);
      def[m] = {
        path: `/chronik.admin.v1.ChronikAdmin/${m}`,
        requestStream: false,
        responseStream: false,
        requestSerialize: (v: object) => Buffer.from(Req.encode(Req.fromObject(v)).finish()),
        requestDeserialize: (b: Buffer) => Req.toObject(Req.decode(b), { enums: String, defaults: true }),
        responseSerialize: (v: object) => Buffer.from(Res.encode(Res.fromObject(v)).finish()),
        responseDeserialize: (b: Buffer) => Res.toObject(Res.decode(b)),
      };
      impl[m] = (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        try {
          cb(null, this.handle(m, call.request));
        } catch (err) {
          cb({ code: grpc.status.INVALID_ARGUMENT, details: String(err) } as grpc.ServiceError, null);
        }
      };
    }
    this.server.addService(def as grpc.ServiceDefinition, impl);
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
    return `127.0.0.1:${this.port}`;
  }

  callsOf(method: string): FakeBrokerCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.tryShutdown(() => r()));
  }
}
