/**
 * Calls from this broker's admin service to another broker's (or to its own, without the
 * network): the transport carries them as request kind `admin`; the receiving side runs them
 * with `servePeer`.
 */
import { status } from '@grpc/grpc-js';
import type { AdminContext } from './context.js';
import { AdminError, toAdminError } from './errors.js';
import { ADMIN_PEER_KIND, decodePeerReply, decodePeerRequest, encodePeer, type PeerAdminRequest } from './peer-protocol.js';

/** Runs a peer request on this broker; registered by the service (see service.ts). */
export type PeerHandler = (req: PeerAdminRequest) => Promise<unknown>;

/** Asks broker `nodeId` (possibly this one); rejects with an AdminError (UNAVAILABLE when it cannot be reached). */
export async function askPeer(ctx: AdminContext, local: PeerHandler, nodeId: number, req: PeerAdminRequest, timeoutMs: number): Promise<unknown> {
  if (nodeId === ctx.cluster.nodeId) return local(req);
  let reply: Uint8Array;
  try {
    reply = await ctx.cluster.transport.request(nodeId, ADMIN_PEER_KIND, encodePeer(req), timeoutMs);
  } catch (err) {
    throw new AdminError(status.UNAVAILABLE, `broker ${nodeId} did not answer: ${(err as Error).message}`);
  }
  return decodePeerReply(reply);
}

/** The transport's side: decodes, runs and encodes, turning every failure into an error reply. */
export function peerServer(local: PeerHandler): (payload: Uint8Array) => Promise<Uint8Array> {
  return async (payload) => {
    try {
      const value = await local(decodePeerRequest(payload));
      return encodePeer({ ok: true, value });
    } catch (err) {
      const e = toAdminError(err);
      return encodePeer({ ok: false, code: e.code, message: e.message });
    }
  };
}
