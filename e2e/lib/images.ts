import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dockerBuild } from './docker.js';

export const BROKER_IMAGE = process.env.CHRONIK_E2E_BROKER_IMAGE ?? 'chronik/broker:e2e';
export const OPERATOR_IMAGE = process.env.CHRONIK_E2E_OPERATOR_IMAGE ?? 'chronik/operator:e2e';

/**
 * Builds the project's images with the repository's own Dockerfiles, unchanged: on machines
 * without a registry the base image was made locally by ensureBaseImage().
 */
export async function buildProjectImages(repoRoot: string): Promise<{ broker: string; operator?: string }> {
  const brokerDockerfile = join(repoRoot, 'Dockerfile.broker');
  if (!existsSync(brokerDockerfile)) throw new Error(`${brokerDockerfile} is missing: the broker image cannot be built`);
  await dockerBuild({ dockerfile: brokerDockerfile, tag: BROKER_IMAGE, context: repoRoot });
  const operatorDockerfile = join(repoRoot, 'Dockerfile.operator');
  if (!existsSync(operatorDockerfile)) return { broker: BROKER_IMAGE };
  await dockerBuild({ dockerfile: operatorDockerfile, tag: OPERATOR_IMAGE, context: repoRoot });
  return { broker: BROKER_IMAGE, operator: OPERATOR_IMAGE };
}
