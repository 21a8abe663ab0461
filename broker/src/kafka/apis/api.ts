/**
 * What an API module is: the message definitions it serves, the versions it serves, and a
 * handler typed from those definitions. The request a handler gets is `BodyOf` its request
 * definition and what it returns is checked against `ResponseBodyOf` its response definition,
 * so a renamed or misspelled field breaks the build instead of going out as a default.
 */
import type { DataCluster } from '../../cluster/types.js';
import type { BrokerConfig } from '../../config/index.js';
import type { ConsumerGroups, CoordinatorNode, GroupMembership, GroupOffsets, ProducerIdSource, TransactionCoordinator } from '../../coordinator/index.js';
import type { TxnVerifier } from '../../replication/raft-partition.js';
import type { Logger } from '../../observability/logger.js';
import { bodyAs, type BodyOf, type ResponseBodyOf } from '../protocol/messages/types.js';
import type { ApiDef, MessageDef } from '../protocol/schema.js';
import { parseVersions } from '../protocol/versions.js';
import type { ApiHandler, RequestContext } from '../server/handler.js';

/** Everything a handler may use; each module names the part it needs. */
export interface ApiServices {
  readonly cluster: DataCluster;
  readonly config: BrokerConfig;
  readonly logger: Logger;
  readonly groups: GroupMembership;
  /** KIP-848 consumer groups. */
  readonly consumerGroups: ConsumerGroups;
  readonly offsets: GroupOffsets;
  readonly producerIds: ProducerIdSource;
  /** The transaction coordinator (of the transactional ids whose state partition this broker leads). */
  readonly transactions: TransactionCoordinator;
  /** KIP-890: whether a partition is in a producer's ongoing transaction (null), else why not. */
  readonly verifyTransaction: TxnVerifier;
  /** The broker coordinating a group or transactional id, or null when none is available. */
  readonly coordinatorFor: (key: string, keyType: number) => Promise<CoordinatorNode | null>;
  /** Every API this broker serves (ApiVersions answers with it). */
  readonly served: () => readonly ApiDef[];
}

/**
 * A typed handler. It returns the response body, or null when no response is sent (Produce with
 * acks=0). It throws KafkaError only for request-level failures; per-partition errors go in the
 * body.
 */
export type TypedHandler<Req extends MessageDef, Res extends MessageDef> = (
  request: BodyOf<Req>,
  ctx: RequestContext,
) => Promise<ResponseBodyOf<Res> | null>;

export interface ApiSpec<Req extends MessageDef, Res extends MessageDef, S> {
  readonly name: string;
  readonly request: Req;
  readonly response: Res;
  /** The versions served: within what the definitions know (validVersions). */
  readonly versions: { readonly min: number; readonly max: number };
  /** The handler, from the part of ApiServices it needs (S: a supertype of ApiServices). */
  readonly create: (services: S) => TypedHandler<Req, Res>;
}

export interface ApiModule<Req extends MessageDef = MessageDef, Res extends MessageDef = MessageDef, S = ApiServices> {
  /** The definitions with the served range, as the server and the codec use them. */
  readonly api: ApiDef;
  /** The typed handler. */
  readonly create: (services: S) => TypedHandler<Req, Res>;
  /** The handler bound to its services, taking and giving decoded bodies. */
  bind(services: S): ApiHandler;
}

/** Checks the spec against its definitions and makes the module. Throws on a bad spec at load. */
export function defineApi<Req extends MessageDef, Res extends MessageDef, S>(spec: ApiSpec<Req, Res, S>): ApiModule<Req, Res, S> {
  const { request, response, versions } = spec;
  if (request.kind !== 'request' || response.kind !== 'response' || request.apiKey !== response.apiKey || request.validVersions !== response.validVersions) {
    throw new Error(`${spec.name}: request and response definitions do not belong together`);
  }
  for (const def of [request, response]) {
    const known = parseVersions(def.validVersions);
    if (versions.min > versions.max || versions.min < known.min || versions.max > known.max) {
      throw new Error(`${spec.name}: serves ${versions.min}-${versions.max}, but ${def.name} knows ${def.validVersions}`);
    }
  }
  const api: ApiDef = { apiKey: request.apiKey, name: spec.name, minVersion: versions.min, maxVersion: versions.max, request, response };
  return {
    api,
    create: spec.create,
    bind(services) {
      const handle = spec.create(services);
      // The codec decoded the body against `request` for this very version.
      return { api, handle: (body, ctx) => handle(bodyAs(request, body), ctx) };
    },
  };
}
