/** Kafka's topic-name rules, so a name that works here works on any Kafka cluster. */
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';

export const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL = /^[a-zA-Z0-9._-]+$/;

/** Throws INVALID_TOPIC_EXCEPTION with the reason. */
export function validateTopicName(name: string): void {
  if (name.length === 0) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, 'Topic name is empty');
  if (name === '.' || name === '..') throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic name cannot be "${name}"`);
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    throw new KafkaError(
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      `Topic name is ${name.length} characters long; the limit is ${MAX_TOPIC_NAME_LENGTH}`,
    );
  }
  if (!LEGAL.test(name)) {
    throw new KafkaError(
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      `Topic name ${JSON.stringify(name)} contains characters other than ASCII letters, digits, '.', '_' and '-'`,
    );
  }
}

/** Topics only the brokers create and write (group offsets, transactions, cluster metadata). */
const RESERVED_INTERNAL = new Set(['__consumer_offsets', '__transaction_state', '__cluster_metadata']);

export function isReservedInternalTopic(name: string): boolean {
  return RESERVED_INTERNAL.has(name);
}

/** '.' and '_' collide in metric names, so Kafka refuses topics that differ only by them. */
export function collisionKey(name: string): string {
  return name.replace(/\./g, '_');
}
