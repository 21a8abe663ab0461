#!/usr/bin/env node
// The `chronik` command. Runs the compiled broker/dist when it exists (the published image);
// in a source checkout (or with CHRONIK_FROM_SOURCE=1) it loads the TypeScript through tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
let entry;
if (existsSync(compiled) && process.env.CHRONIK_FROM_SOURCE !== '1') {
  entry = pathToFileURL(compiled).href;
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('../src/cli/main.ts', import.meta.url).href;
}
const { main } = await import(entry);
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`chronik: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
