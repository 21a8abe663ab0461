/**
 * What is generated from the registries must match them: the README's API and configuration
 * tables and the operator's copy of the broker settings. Regenerate with
 * `node --import tsx scripts/reference.ts`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blockIn, OPERATOR_SETTINGS_FILE, README, readmeBlocks, ROOT } from '../../../../scripts/reference.js';
import { BROKER_SETTINGS } from '../../../src/config/index.js';
import { renderOperatorSettings } from '../../../src/config/reference.js';
import { SERVED_APIS } from '../../../src/kafka/apis/registry.js';

const REGENERATE = 'stale: run `node --import tsx scripts/reference.ts`';

describe('generated reference', () => {
  const readme = readFileSync(join(ROOT, README), 'utf8');

  for (const [name, content] of Object.entries(readmeBlocks())) {
    it(`the README's ${name} table is the registry's`, () => {
      expect(blockIn(readme, name), `${README} block '${name}' ${REGENERATE}`).toBe(content);
    });
  }

  it('the tables name every served API and every setting', () => {
    const blocks = readmeBlocks();
    for (const api of SERVED_APIS) expect(blocks['apis']).toContain(`| ${api.name} | ${api.apiKey} |`);
    for (const s of BROKER_SETTINGS) expect(blocks['settings']).toContain(`| \`${s.name}\` |`);
  });

  it("the operator's copy of the broker settings is the registry's", () => {
    expect(readFileSync(join(ROOT, OPERATOR_SETTINGS_FILE), 'utf8'), `${OPERATOR_SETTINGS_FILE} ${REGENERATE}`).toBe(renderOperatorSettings());
  });
});
