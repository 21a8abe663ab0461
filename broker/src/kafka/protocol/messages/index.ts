/**
 * The message definitions, by family. Which APIs are served, and in which versions, is up to the
 * API modules (kafka/apis/registry.ts).
 */
export * from './api-versions.js';
export * from './configs.js';
export * from './consumer-groups.js';
export * from './fetch.js';
export * from './group-offsets.js';
export * from './groups.js';
export * from './metadata.js';
export * from './offsets.js';
export * from './produce.js';
export * from './producers.js';
export * from './topics.js';
export * from './transactions.js';
export * from './types.js';
