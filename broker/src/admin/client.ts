/**
 * A typed client of the admin service for `chronik ctl` and the tests: one broker's admin
 * address, an optional bearer token, a deadline per call. Failures are AdminCallErrors carrying
 * the gRPC status the broker answered (or UNAVAILABLE when it could not be reached).
 */
import * as grpc from '@grpc/grpc-js';
import { ADMIN_METHODS, ADMIN_SERVICE, CONVERSION, loadAdminProto, messageType, type AdminMethod } from './proto.js';
import type { AdminResponses } from './types.js';

export class AdminCallError extends Error {
  constructor(
    readonly method: AdminMethod,
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(`${method}: ${grpc.status[code] ?? code}: ${details}`);
    this.name = 'AdminCallError';
  }
}

export interface AdminClientOptions {
  /** host:port of a broker's admin listener. */
  readonly address: string;
  readonly token?: string | null;
  readonly deadlineMs?: number;
  readonly protoPath?: string;
}

const TYPES = new Map<string, { req: string; res: string }>(ADMIN_METHODS.map(([m, req, res]) => [m, { req, res }]));

export class AdminClient {
  private readonly client: grpc.Client;
  private readonly root: ReturnType<typeof loadAdminProto>;

  constructor(private readonly o: AdminClientOptions) {
    this.root = loadAdminProto(o.protoPath);
    this.client = new grpc.Client(o.address, grpc.credentials.createInsecure());
  }

  call<M extends AdminMethod>(method: M, request: Readonly<Record<string, unknown>> = {}, deadlineMs = this.o.deadlineMs ?? 10_000): Promise<AdminResponses[M]> {
    const types = TYPES.get(method) as { req: string; res: string };
    const Req = messageType(this.root, types.req);
    const Res = messageType(this.root, types.res);
    const problem = Req.verify(request);
    if (problem) return Promise.reject(new AdminCallError(method, grpc.status.INVALID_ARGUMENT, problem));
    const metadata = new grpc.Metadata();
    if (this.o.token) metadata.set('authorization', `Bearer ${this.o.token}`);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        `/${ADMIN_SERVICE}/${method}`,
        (m: Readonly<Record<string, unknown>>) => Buffer.from(Req.encode(Req.fromObject(m)).finish()),
        (b: Buffer) => Res.toObject(Res.decode(b), CONVERSION) as AdminResponses[M],
        request,
        metadata,
        { deadline: Date.now() + deadlineMs },
        (err: grpc.ServiceError | null, value?: AdminResponses[M]) => {
          if (err) reject(new AdminCallError(method, err.code, err.details || err.message));
          else if (value === undefined) reject(new AdminCallError(method, grpc.status.INTERNAL, 'empty response'));
          else resolve(value);
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}
