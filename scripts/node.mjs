#!/usr/bin/env node
// `node scripts/node.mjs ARGS...`: `node ARGS...` on the Node this project runs on (see
// node-runtime.mjs), for the npm scripts that run TypeScript directly (sim, bench, e2e).
import { ensureSupportedNode, runChild } from './node-runtime.mjs';

await ensureSupportedNode();
process.exit(await runChild(process.execPath, process.argv.slice(2)));
