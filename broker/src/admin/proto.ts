/**
 * proto/admin.proto, loaded at runtime with protobufjs (as the operator's client does), and the
 * table of its unary methods. Messages are plain objects with the proto's camelCase field
 * names; enums travel as their names and 64-bit integers as numbers.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

export const ADMIN_PACKAGE = 'chronik.admin.v1';
export const ADMIN_SERVICE = `${ADMIN_PACKAGE}.ChronikAdmin`;

/** Every RPC of the service: name, request type, response type. */
export const ADMIN_METHODS = [
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
  ['ListPartitions', 'ListPartitionsRequest', 'ListPartitionsResponse'],
] as const;

export type AdminMethod = (typeof ADMIN_METHODS)[number][0];

/** proto/admin.proto, found from this module in the source tree and in the broker image alike. */
export function adminProtoPath(): string {
  return process.env['CHRONIK_ADMIN_PROTO'] ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../proto/admin.proto');
}

let cached: { file: string; root: protobuf.Root } | null = null;

export function loadAdminProto(file = adminProtoPath()): protobuf.Root {
  if (cached?.file === file) return cached.root;
  const root = protobuf.loadSync(file);
  root.resolveAll();
  cached = { file, root };
  return root;
}

export const CONVERSION: protobuf.IConversionOptions = { enums: String, longs: Number, defaults: true, arrays: true };

export function messageType(root: protobuf.Root, name: string): protobuf.Type {
  return root.lookupType(`${ADMIN_PACKAGE}.${name}`);
}
