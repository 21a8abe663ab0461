/**
 * Writes what is generated from the registries: the README's API and configuration tables, and
 * the operator's copy of the broker settings. `node --import tsx scripts/reference.ts`; a broker
 * test (broker/test/unit/docs/reference.test.ts) fails while any of them is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OPERATOR_SETTINGS_FILE, renderOperatorSettings, renderSettingsTable } from '../broker/src/config/reference.js';
import { renderApiTable } from '../broker/src/kafka/apis/reference.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const README = 'README.md';
export { OPERATOR_SETTINGS_FILE };

/** The README's generated blocks, by name. */
export function readmeBlocks(): Record<string, string> {
  return { apis: renderApiTable(), settings: renderSettingsTable() };
}

const begin = (name: string) => `<!-- generated: ${name} (node --import tsx scripts/reference.ts) -->`;
const end = (name: string) => `<!-- end of generated: ${name} -->`;

/** The text between a block's markers, or null when the README has no such block. */
export function blockIn(text: string, name: string): string | null {
  const i = text.indexOf(begin(name));
  const j = text.indexOf(end(name));
  if (i < 0 || j < i) return null;
  return text.slice(i + begin(name).length, j).trim();
}

export function withBlocks(text: string, blocks: Record<string, string>): string {
  let out = text;
  for (const [name, content] of Object.entries(blocks)) {
    const i = out.indexOf(begin(name));
    const j = out.indexOf(end(name));
    if (i < 0 || j < i) throw new Error(`${README} has no block '${name}': add the lines\n${begin(name)}\n${end(name)}`);
    out = `${out.slice(0, i + begin(name).length)}\n${content}\n${out.slice(j)}`;
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const readmePath = `${ROOT}${README}`;
  writeFileSync(readmePath, withBlocks(readFileSync(readmePath, 'utf8'), readmeBlocks()));
  writeFileSync(`${ROOT}${OPERATOR_SETTINGS_FILE}`, renderOperatorSettings());
  console.log(`wrote ${README} (apis, settings) and ${OPERATOR_SETTINGS_FILE}`);
}
