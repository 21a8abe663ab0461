import { describe, expect, it } from 'vitest';
import { clientControllerId } from '../../../src/kafka/apis/controller-id.js';

const brokers = [1, 2, 3].map((nodeId) => ({ nodeId, host: 'h', port: 9092 + nodeId, rack: null }));

describe('the ControllerId clients are told', () => {
  it('is the controller while there is one, else the answering broker, never an unknown id', () => {
    expect(clientControllerId({ nodeId: 2, brokers: () => brokers, controllerId: () => 3 })).toBe(3);
    expect(clientControllerId({ nodeId: 2, brokers: () => brokers, controllerId: () => -1 })).toBe(2);
    // Not in the broker list yet (it has not registered): a client could not find it.
    expect(clientControllerId({ nodeId: 9, brokers: () => brokers, controllerId: () => -1 })).toBe(-1);
  });
});
