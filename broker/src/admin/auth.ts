/**
 * Bearer-token authentication of admin calls (`--admin-token-file`). The token is read once at
 * start-up; every call must carry `authorization: Bearer <token>` or gets UNAUTHENTICATED. The
 * comparison takes the same time whatever the guess. There is no TLS on this listener yet, so
 * the token crosses the network in the clear: keep the listener on a trusted network.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Metadata } from '@grpc/grpc-js';

export class AdminTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminTokenError';
  }
}

/** The token in `file` (surrounding whitespace dropped); refuses a missing or empty file. */
export function readAdminToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AdminTokenError(`admin token file ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const token = text.trim();
  if (token === '') throw new AdminTokenError(`admin token file ${file} is empty`);
  if (/\s/.test(token)) throw new AdminTokenError(`admin token file ${file} holds more than one word`);
  return token;
}

/** null when the call may proceed, else why not. */
export function checkBearer(metadata: Metadata, token: string | null): string | null {
  if (token === null) return null;
  const values = metadata.get('authorization');
  if (values.length === 0) return 'this admin listener requires a bearer token (authorization: Bearer <token>)';
  const value = values[0];
  const text = typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : '';
  const m = /^Bearer\s+(\S+)$/i.exec(text.trim());
  if (!m) return 'the authorization header is not "Bearer <token>"';
  // Digests of equal length, so neither the content nor the length of the token shows in the timing.
  const digest = (t: string): Buffer => createHash('sha256').update(t, 'utf8').digest();
  if (!timingSafeEqual(digest(m[1] as string), digest(token))) return 'the bearer token is wrong';
  return null;
}
