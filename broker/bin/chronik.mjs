#!/usr/bin/env node
// The `chronik` command. Runs the compiled broker/dist when it exists (the published image);
// in a source checkout (or with CHRONIK_FROM_SOURCE=1) it loads the TypeScript through tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';

// Replication allocates its frames as Buffers outside the JS heap. By default V8 runs a full
// mark-compact for every 64 MiB of such memory, which under a steady produce load was a GC every
// few hundred milliseconds on a 20 MB heap; counting it against the heap's own growing limit
// instead gave 25-35% more replicated throughput for about 50 MB more peak RSS (bench/cluster.ts).
// The flag arrived with Node 24's V8; older ones would print an error for it.
if (Number(process.versions.node.split('.')[0]) >= 24) v8.setFlagsFromString('--external-memory-accounted-in-global-limit');

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
