import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminCallError, GrpcBrokerAdmin } from '../src/brokers/admin-client.js';
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
