import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpDataDir } from '../../broker/test/helpers/tmp.js';
import { parseHistory } from '../checker/history.js';
import { pairOperations } from '../checker/operations.js';
import { HistoryRecorder } from '../harness/recorder.js';

describe('history recorder', () => {
  it('writes whole JSON lines the checker reads, with increasing times', async () => {
    const file = join(tmpDataDir('chronik-chaos-rec-'), 'history.jsonl');
    const rec = new HistoryRecorder(file);
    await rec.op('producer-0', 'produce', { value: 'v0', partition: 1 }, async () => ({ offset: 7 }));
    await rec.op('producer-0', 'produce', { value: 'v1', partition: 1 }, async () => {
      throw Object.assign(new Error('The request timed out'), { name: 'KafkaJSRequestTimeoutError' });
    });
    rec.record('consumer-0', 'ok', 'poll', { partition: 1, value: [[7, 'v0']] });
    rec.close();
    rec.record('late', 'ok', 'poll', {});
    const events = parseHistory(readFileSync(file, 'utf8'));
    expect(events.map((e) => [e.process, e.type, e.f])).toEqual([
      ['producer-0', 'invoke', 'produce'],
      ['producer-0', 'ok', 'produce'],
      ['producer-0', 'invoke', 'produce'],
      ['producer-0', 'info', 'produce'],
      ['consumer-0', 'ok', 'poll'],
    ]);
    expect(events[1]).toMatchObject({ value: 'v0', partition: 1, offset: 7 });
    expect(events[3]?.error).toBe('KafkaJSRequestTimeoutError: The request timed out');
    expect(events.every((e, i) => i === 0 || e.time >= (events[i - 1]?.time ?? 0))).toBe(true);
    expect(rec.events).toBe(5);
    expect(rec.tally().get('produce info')).toBe(1);
    const ops = pairOperations(events);
    expect(ops.map((o) => o.outcome)).toEqual(['ok', 'info', 'ok']);
  });
});
