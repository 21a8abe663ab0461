/**
 * The Raft transport against a peer in another process: a paused process (SIGSTOP) is reported
 * down by the beat timeout and up again when it resumes, and a process whose transport was closed
 * exits by itself (close() leaves nothing open).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/broker-process.js';
import { append, closeAll, startNode, until } from '../unit/replication/transport/harness.js';

const CHILD = resolve(REPO_ROOT, 'broker/test/helpers/transport-child.ts');
let child: ChildProcess | null = null;

afterEach(async () => {
  if (child !== null && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  child = null;
  await closeAll();
});

describe('raft transport with a peer process', () => {
  it('reports a paused peer down and up again, and the peer process exits once its transport is closed', async () => {
    const a = await startNode(1, { beatIntervalMs: 50, peerTimeoutMs: 500 });
    const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, '2', '1', String(a.port)], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    child = proc;
    let out = '';
    let err = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await until(() => out.includes('\n') || proc.exitCode !== null, 'child listening');
    const { port } = JSON.parse(out.split('\n')[0]!) as { port: number };
    a.peers.set(2, { host: '127.0.0.1', port });

    await until(() => a.transport.peerUp(2), 'stream to the child up');
    a.transport.send(2, [append(1, 1), append(1, 2)]);
    await until(() => a.received(2).length === 2, 'echoed back');

    proc.kill('SIGSTOP');
    await until(() => a.peerStates.some((s) => !s.up), 'paused peer reported down');
    expect(a.logs.some((l) => /raft stream to broker 2 lost: nothing acknowledged/.test(l.msg))).toBe(true);
    proc.kill('SIGCONT');
    await until(() => a.transport.peerUp(2), 'up again after resume');
    expect(a.peerStates.map((s) => s.up).slice(0, 3)).toEqual([true, false, true]);
    a.transport.send(2, [append(1, 3)]);
    await until(() => a.received(2).some((m) => m.entries[0]!.index === 3), 'echo after resume');
    expect(Buffer.from(await a.transport.request(2, 'echo', Buffer.from('hi'), 5000)).toString()).toBe('hi');

    const exited = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    proc.stdin!.end('close\n');
    const bound = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    const [code, signal] = await exited;
    clearTimeout(bound);
    expect({ code, signal, out: out.trim().split('\n').at(-1) }, `child stderr:\n${err}`).toEqual({ code: 0, signal: null, out: 'closed' });
  });
});
