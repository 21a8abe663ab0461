/**
 * confluent-kafka releases from PyPI for tests that need a librdkafka other than Debian's (2.0.2):
 * each release's wheel bundles its own librdkafka, so one venv per release gives that exact
 * client. The venvs live in a cache outside the repository (CHRONIK_PYTHON_CACHE, default
 * ~/.cache/chronik-python), made once with the Debian python's venv module and pip; later runs
 * use them as they are.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const CACHE = process.env.CHRONIK_PYTHON_CACHE ?? join(homedir(), '.cache', 'chronik-python');
// The interpreter python_client.py is written for; Debian's, so python3-venv provides ensurepip.
const BASE_PYTHON = '/usr/bin/python3';

/** The python of a venv holding confluent-kafka `version`; throws with pip's output when it cannot. */
export function confluentKafkaPython(version: string): string {
  const home = join(CACHE, `confluent-kafka-${version}`);
  const python = join(home, 'bin', 'python');
  if (existsSync(join(home, 'complete'))) return python;
  mkdirSync(CACHE, { recursive: true });
  // Built beside its final place and renamed into it: two test files preparing the same release
  // at once must not see each other's half-made venv.
  const building = `${home}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  const run = (cmd: string, args: string[]): void => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) {
      rmSync(building, { recursive: true, force: true });
      throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal}): ${r.error?.message ?? ''}${r.stdout}${r.stderr}`);
    }
  };
  run(BASE_PYTHON, ['-m', 'venv', building]);
  run(join(building, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `confluent-kafka==${version}`]);
  writeFileSync(join(building, 'complete'), `${new Date().toISOString()}\n`);
  try {
    renameSync(building, home);
  } catch (err) {
    // Another process finished first; its venv is as good as ours.
    rmSync(building, { recursive: true, force: true });
    if (!existsSync(join(home, 'complete'))) throw err;
  }
  return python;
}
