export { startBrokerProcess, REPO_ROOT, CLI_ENTRY, type BrokerProcess, type StartBrokerOptions, type ExitStatus } from './broker-process.js';
export { freePort } from './ports.js';
export { tmpDataDir, removeDir } from './tmp.js';
