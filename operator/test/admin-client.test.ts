import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { AdminError } from '../../broker/src/admin/errors.js';
import { startAdminServer, type AdminServer } from '../../broker/src/admin/server.js';
import type { AdminHandlers } from '../../broker/src/admin/service.js';
import type { ClusterStatus as BrokerClusterStatus } from '../../broker/src/admin/types.js';
import { AdminCallError, defaultProtoPath, GrpcBrokerAdmin } from '../src/brokers/admin-client.js';
import { FakeBrokers } from './support/fake-brokers.js';

describe('admin gRPC client over real gRPC', () => {
  const fake = new FakeBrokers();
  let endpoint = '';
  beforeAll(async () => {
    endpoint = await fake.start();
  });
  afterAll(() => fake.stop());

  it('round-trips typed calls, enums as names, and fails over from a dead endpoint', async () => {
    // 127.0.0.1:1 refuses connections: the client must move on to the live endpoint.
    const admin = new GrpcBrokerAdmin({ endpoints: ['127.0.0.1:1', endpoint], deadlineMs: 2000 });
    try {
      await admin.addBroker({ brokerId: 4, host: 'b-4.h', port: 9092 });
      const d1 = await admin.decommissionBroker(4);
      expect(d1).toMatchObject({ brokerId: 4, state: 'BROKER_STATE_DECOMMISSIONING', done: false, replicasRemaining: 2 });
      const d2 = await admin.getDecommissionStatus(4);
      expect(d2).toMatchObject({ state: 'BROKER_STATE_DECOMMISSIONED', done: true });
      const m = await admin.setMaintenanceMode(1, true);
      expect(m).toEqual({ brokerId: 1, enabled: true, leadershipsRemaining: 0, drained: true });
      const cs = await admin.getClusterStatus();
      expect(cs.brokers.map((b) => b.brokerId).sort()).toEqual([1, 4]);
      expect(cs.underReplicatedPartitions).toBe(0);
      expect(fake.callsOf('AddBroker')[0]!.request).toMatchObject({ brokerId: 4, host: 'b-4.h', port: 9092 });
    } finally {
      admin.close();
    }
  });

  it('reports unreachable brokers as an AdminCallError', async () => {
    const admin = new GrpcBrokerAdmin({ endpoints: ['127.0.0.1:1'], deadlineMs: 1000 });
    try {
      await expect(admin.getClusterStatus()).rejects.toBeInstanceOf(AdminCallError);
    } finally {
      admin.close();
    }
  });
});

describe("admin client against the broker's own admin server with a token", () => {
  let server: AdminServer;
  let endpoint = '';
  const token = `tok-${Math.random().toString(36).slice(2)}`;
  let releaseDrain: (() => void) | null = null;
  let drainCancelled = false;
  const unused = async (): Promise<never> => {
    throw new AdminError(grpc.status.UNIMPLEMENTED, 'not used by this test');
  };

  beforeAll(async () => {
    const status: BrokerClusterStatus = {
      clusterId: 'c',
      controllerId: 0,
      respondingBrokerId: 0,
      brokers: [],
      topicCount: 0,
      partitionCount: 0,
      underReplicatedPartitions: 0,
      underMinIsrPartitions: 0,
      offlinePartitions: 0,
      consumerGroupCount: 0,
      totalConsumerLag: 0,
      metadataOffset: 7,
    };
    const handlers: AdminHandlers = {
      GetClusterStatus: async () => status,
      AddBroker: unused,
      // Answers only when released: a call the operator must be able to abandon.
      DrainLeadership: (_req, deadline) =>
        new Promise((resolve, reject) => {
          releaseDrain = () => resolve({ brokerId: 1, leadershipsRemaining: 0, done: true });
          setTimeout(() => {
            drainCancelled = true;
            reject(new AdminError(grpc.status.DEADLINE_EXCEEDED, 'late'));
          }, Math.max(0, deadline - Date.now()));
        }),
      DecommissionBroker: unused,
      GetDecommissionStatus: unused,
      CancelDecommission: unused,
      TransferLeadership: unused,
      SetMaintenanceMode: unused,
      Rebalance: unused,
      GetRebalanceStatus: unused,
      ListPartitions: unused,
    };
    server = await startAdminServer({ host: '127.0.0.1', port: 0, handlers, token, logger: pino({ level: 'silent' }), protoPath: defaultProtoPath() });
    endpoint = `127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    releaseDrain?.();
    await server.close();
  });

  it('sends the bearer token; without it the broker answers UNAUTHENTICATED', async () => {
    const withToken = new GrpcBrokerAdmin({ endpoints: [endpoint], token, deadlineMs: 3000 });
    const without = new GrpcBrokerAdmin({ endpoints: [endpoint], deadlineMs: 3000 });
    try {
      expect((await withToken.getClusterStatus()).metadataOffset).toBe(7);
      const err = await without.getClusterStatus().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AdminCallError);
      expect((err as AdminCallError).code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      withToken.close();
      without.close();
    }
  });

  it('an aborted signal cancels the call in flight and refuses new ones without sending them', async () => {
    const lease = new AbortController();
    const admin = new GrpcBrokerAdmin({ endpoints: [endpoint], token, deadlineMs: 30_000, signal: lease.signal });
    try {
      const pending = admin.drainLeadership(1).then(
        () => null,
        (e: unknown) => e,
      );
      await new Promise((r) => setTimeout(r, 200));
      lease.abort();
      const err = await pending;
      expect(err).toBeInstanceOf(AdminCallError);
      expect((err as AdminCallError).code).toBe(grpc.status.CANCELLED);
      const next = await admin.getClusterStatus().then(
        () => null,
        (e: unknown) => e,
      );
      expect((next as AdminCallError).code).toBe(grpc.status.CANCELLED);
      expect((next as AdminCallError).message).toMatch(/no longer the leader/);
      expect(drainCancelled).toBe(false);
    } finally {
      admin.close();
    }
  });
});
