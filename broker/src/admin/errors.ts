/**
 * How the admin service fails: a gRPC status and a message a person can act on. Field errors
 * name the field as admin.proto spells it; cluster errors (Kafka error codes from the controller
 * commands) map through adminStatusOf; no controller, or a broker that cannot be reached, is
 * UNAVAILABLE so callers retry.
 */
import { status } from '@grpc/grpc-js';
import { adminStatusOf } from '../cluster/admin-commands.js';
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';
import { PeerRequestError } from '../replication/transport/index.js';

export class AdminError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

export function invalidArgument(field: string, problem: string): AdminError {
  return new AdminError(status.INVALID_ARGUMENT, `${field}: ${problem}`);
}

export function notFound(message: string): AdminError {
  return new AdminError(status.NOT_FOUND, message);
}

export function failedPrecondition(message: string): AdminError {
  return new AdminError(status.FAILED_PRECONDITION, message);
}

export function unavailable(message: string): AdminError {
  return new AdminError(status.UNAVAILABLE, message);
}

/** Any failure as the status the caller gets. */
export function toAdminError(err: unknown): AdminError {
  if (err instanceof AdminError) return err;
  if (err instanceof PeerRequestError) return unavailable(err.message);
  if (err instanceof KafkaError) {
    switch (err.code) {
      case ErrorCode.NOT_CONTROLLER:
      case ErrorCode.BROKER_NOT_AVAILABLE:
      case ErrorCode.REQUEST_TIMED_OUT:
      case ErrorCode.LEADER_NOT_AVAILABLE:
      case ErrorCode.NOT_LEADER_OR_FOLLOWER:
        return unavailable(err.message);
    }
    switch (adminStatusOf(err)) {
      case 'invalid-argument':
        return new AdminError(status.INVALID_ARGUMENT, err.message);
      case 'not-found':
        return notFound(err.message);
      case 'failed-precondition':
        return failedPrecondition(err.message);
      default:
        return new AdminError(status.INTERNAL, err.message);
    }
  }
  return new AdminError(status.INTERNAL, err instanceof Error ? err.message : String(err));
}
