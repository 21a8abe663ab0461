import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../../src/kafka/protocol/codec.js';
import { SERVED_APIS } from '../../../src/kafka/apis/registry.js';
import type { MessageDef } from '../../../src/kafka/protocol/schema.js';
import { parseVersions } from '../../../src/kafka/protocol/versions.js';
import { projectToVersion, sampleMessage } from './sample-values.js';

function roundTrip(def: MessageDef, version: number, nulls: boolean): void {
  const sample = sampleMessage(def, version, { nulls });
  const bytes = encodeMessage(def, version, sample);
  const { value, offset } = decodeMessage(def, version, bytes, 0);
  expect(offset).toBe(bytes.length);
  expect(projectToVersion(def.fields, version, value)).toEqual(sample);
  // Re-encoding the decoded value (defaults included) must give the same bytes.
  expect(encodeMessage(def, version, value).equals(bytes)).toBe(true);
}

describe('every ApiDef round-trips at every served version', () => {
  it('serves each api key once', () => {
    expect(new Set(SERVED_APIS.map((a) => a.apiKey)).size).toBe(SERVED_APIS.length);
  });
  for (const api of SERVED_APIS) {
    it(`${api.name} v${api.minVersion}-${api.maxVersion}`, () => {
      for (let v = api.minVersion; v <= api.maxVersion; v++) {
        for (const def of [api.request, api.response]) {
          roundTrip(def, v, false);
          roundTrip(def, v, true);
        }
      }
    });
  }
});

describe('every MessageDef round-trips across all its specified versions (beyond what we serve)', () => {
  for (const api of SERVED_APIS) {
    for (const def of [api.request, api.response]) {
      it(`${def.name} ${def.validVersions}`, () => {
        const { min, max } = parseVersions(def.validVersions);
        for (let v = min; v <= max; v++) roundTrip(def, v, false);
      });
    }
  }
});
