/** The broker-to-broker Raft transport. The contract is documented in types.ts. */
export { createRaftTransport } from './transport.js';
export { PeerRequestError } from './types.js';
export type { GroupSignals, PeerAddress, PeerRequestErrorCode, RaftTransport, RaftTransportOptions } from './types.js';
export { defaultRaftProtoPath } from './codec.js';
