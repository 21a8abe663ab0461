/**
 * The admin gRPC listener (@grpc/grpc-js), serving proto/admin.proto's unary methods from the
 * handlers. Every call is checked for the bearer token first (when one is configured); a
 * request that does not decode is INVALID_ARGUMENT; a handler's failure becomes its status
 * (errors.ts) and never reaches the process.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { checkBearer } from './auth.js';
import { AdminError, toAdminError } from './errors.js';
import { ADMIN_METHODS, ADMIN_SERVICE, CONVERSION, loadAdminProto, messageType } from './proto.js';
import type { AdminHandlers } from './service.js';

export interface AdminServerOptions {
  readonly host: string;
  readonly port: number;
  readonly handlers: AdminHandlers;
  /** null: no authentication. */
  readonly token: string | null;
  readonly logger: Logger;
  readonly protoPath?: string;
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

/** What a request that did not decode turns into, so the handler can answer INVALID_ARGUMENT. */
interface Undecodable {
  readonly undecodable: string;
}

function isUndecodable(v: unknown): v is Undecodable {
  return typeof v === 'object' && v !== null && typeof (v as Partial<Undecodable>).undecodable === 'string';
}

export async function startAdminServer(o: AdminServerOptions): Promise<AdminServer> {
  const root = loadAdminProto(o.protoPath);
  const server = new grpc.Server();
  const definition: Record<string, grpc.MethodDefinition<object, object>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [method, reqName, resName] of ADMIN_METHODS) {
    const Req = messageType(root, reqName);
    const Res = messageType(root, resName);
    definition[method] = {
      path: `/${ADMIN_SERVICE}/${method}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (v: object) => Buffer.from(Req.encode(Req.fromObject(v)).finish()),
      requestDeserialize: (b: Buffer): object => {
        try {
          return Req.toObject(Req.decode(b), CONVERSION);
        } catch (err) {
          return { undecodable: (err as Error).message } satisfies Undecodable;
        }
      },
      responseSerialize: (v: object) => Buffer.from(Res.encode(Res.fromObject(v)).finish()),
      responseDeserialize: (b: Buffer) => Res.toObject(Res.decode(b), CONVERSION),
    };
    const handler = o.handlers[method] as (req: Readonly<Record<string, unknown>>, deadline: number) => Promise<object>;
    implementation[method] = (call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>): void => {
      const fail = (e: AdminError): void => callback({ code: e.code, details: e.message, metadata: new grpc.Metadata() } as Partial<grpc.StatusObject>, null);
      const refused = checkBearer(call.metadata, o.token);
      if (refused !== null) {
        fail(new AdminError(grpc.status.UNAUTHENTICATED, refused));
        return;
      }
      const req = call.request;
      if (isUndecodable(req)) {
        fail(new AdminError(grpc.status.INVALID_ARGUMENT, `${reqName} does not decode: ${req.undecodable}`));
        return;
      }
      const d = call.getDeadline();
      const deadline = d instanceof Date ? d.getTime() : Number(d);
      handler(req as Readonly<Record<string, unknown>>, deadline).then(
        (res) => callback(null, res),
        (err: unknown) => {
          const e = toAdminError(err);
          if (e.code === grpc.status.INTERNAL) o.logger.error({ err, method }, 'admin call failed');
          else o.logger.debug({ method, code: grpc.status[e.code], reason: e.message }, 'admin call refused');
          fail(e);
        },
      );
    };
  }
  server.addService(definition as grpc.ServiceDefinition, implementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
