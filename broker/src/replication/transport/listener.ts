/**
 * The transport's listener: a gRPC server fed by our own TCP listener through grpc-js's public
 * connection injector, so that its HTTP/2 receive window can be raised.
 *
 * Why: Raft traffic flows from the client of a stream (the sender) to the server, so the
 * server's HTTP/2 receive window bounds replication throughput. grpc-js pins a server's window
 * to HTTP/2's default of 64 KiB (it reads `grpc-node.flow_control_window` only on the client
 * side; grpc/grpc-node PR #3058 proposes the server side). With that window, every 64 KiB of a
 * frame waits for a WINDOW_UPDATE round trip; bench/transport.ts measured 1.5-3.8x more
 * throughput with 4 MiB. `createConnectionInjector` builds its HTTP/2 server synchronously, so
 * for the duration of that one call `http2.createServer` is wrapped to add the window to the
 * settings and to each session; nothing else can run in between. Should a grpc-js version stop
 * building it that way, the wrapper is simply not called and the listener works with the default
 * window (logged once). The option is also passed to grpc-js, which will honour it when it can.
 */
import http2 from 'node:http2';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';

export interface RaftListener {
  readonly port: number;
  /** Stops accepting, ends calls (after `graceMs` at most) and closes every connection. */
  close(graceMs: number): Promise<void>;
}

export interface ListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly service: grpc.ServiceDefinition;
  readonly handlers: grpc.UntypedServiceImplementation;
  readonly grpcMessageLimit: number;
  /** HTTP/2 receive window per stream; the connection gets twice as much. */
  readonly receiveWindowBytes: number;
  readonly logger: Logger;
  /**
   * A connection whose first byte is not HTTP/2's ('P'): a raft stream over plain TCP
   * (tcp-stream.ts), given with the bytes read so far.
   */
  readonly onRawConnection: (socket: net.Socket, first: Buffer) => void;
  /** A connection that sends nothing for this long is closed. */
  readonly idleTimeoutMs: number;
}

/** HTTP/2's connection preface starts with this byte; anything else is a raw raft stream. */
const HTTP2_FIRST_BYTE = 0x50;

const HTTP2_DEFAULT_WINDOW = 65_535;

/** Runs `build` with `http2.createServer` creating servers that use `windowBytes`. */
function withReceiveWindow<T>(windowBytes: number, build: () => T): { value: T; applied: boolean } {
  const original = http2.createServer;
  let applied = false;
  const wrapped = (options: http2.ServerOptions = {}): http2.Http2Server => {
    applied = true;
    const server = original({ ...options, settings: { ...options.settings, initialWindowSize: windowBytes } });
    server.on('session', (session: http2.ServerHttp2Session) => {
      try {
        session.setLocalWindowSize(2 * windowBytes);
      } catch {
        // A session already closing has no window to raise.
      }
    });
    return server;
  };
  (http2 as { createServer: unknown }).createServer = wrapped;
  try {
    return { value: build(), applied };
  } finally {
    (http2 as { createServer: unknown }).createServer = original;
  }
}

export async function listen(o: ListenerOptions): Promise<RaftListener> {
  const window = Math.max(HTTP2_DEFAULT_WINDOW, o.receiveWindowBytes);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': o.grpcMessageLimit,
    'grpc.max_send_message_length': o.grpcMessageLimit,
    'grpc-node.flow_control_window': window,
  });
  server.addService(o.service, o.handlers);
  const { value: injector, applied } = withReceiveWindow(window, () => server.createConnectionInjector(grpc.ServerCredentials.createInsecure()));
  if (!applied && window > HTTP2_DEFAULT_WINDOW) {
    o.logger.info('raft transport: this grpc-js builds its servers differently; receiving with the default HTTP/2 window');
  }
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    // Tell the two wires apart by the first byte. The byte goes back into the socket, and
    // node's HTTP/2 session reads what a socket has buffered before it takes over.
    socket.setTimeout(o.idleTimeoutMs, () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      if (first[0] === HTTP2_FIRST_BYTE) {
        socket.unshift(first);
        injector.injectConnection(socket);
      } else {
        o.onRawConnection(socket, first);
        socket.resume();
      }
    });
    socket.on('error', () => socket.destroy());
  });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(o.port, o.host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    injector.destroy();
    server.forceShutdown();
    throw e;
  }
  tcp.on('error', (e) => o.logger.error({ err: e }, 'raft transport listener failed'));
  const port = (tcp.address() as net.AddressInfo).port;
  return {
    port,
    close: async (graceMs) => {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      injector.destroy();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
