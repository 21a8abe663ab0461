/**
 * The Kafka version strings that the deprecated `message.format.version` and
 * `log.message.format.version` take. Chronik stores every batch in message format v2 and ignores
 * these values, as Kafka 3.x does once its inter-broker protocol is 3.0 or newer, but it refuses
 * what Kafka 3.x refuses, so a value one accepts is one the other accepts.
 *
 * The facts are those of Kafka 3.9 (the last 3.x release, where the config still exists): the
 * documented valid values (a release with its inter-broker protocol revision, such as `2.8-IV1`),
 * plus each release on its own (`2.8`, `0.10.2`), which names that release's latest revision. Kafka
 * reads the first two dot-separated parts of a value (three for a 0.x release) and ignores the
 * rest, so `2.8.1` and `0.10.2.1` are valid and `0.10` is not; a release that Kafka 3.9 only knew
 * as unstable revisions (4.0) is valid only with its IV suffix.
 */

/** The valid values Kafka 3.9 documents for message.format.version, oldest first. */
export const MESSAGE_FORMAT_VERSIONS: readonly string[] = [
  '0.8.0', '0.8.1', '0.8.2', '0.9.0',
  '0.10.0-IV0', '0.10.0-IV1', '0.10.1-IV0', '0.10.1-IV1', '0.10.1-IV2', '0.10.2-IV0',
  '0.11.0-IV0', '0.11.0-IV1', '0.11.0-IV2',
  '1.0-IV0', '1.1-IV0',
  '2.0-IV0', '2.0-IV1', '2.1-IV0', '2.1-IV1', '2.1-IV2', '2.2-IV0', '2.2-IV1', '2.3-IV0', '2.3-IV1',
  '2.4-IV0', '2.4-IV1', '2.5-IV0', '2.6-IV0', '2.7-IV0', '2.7-IV1', '2.7-IV2', '2.8-IV0', '2.8-IV1',
  '3.0-IV0', '3.0-IV1', '3.1-IV0', '3.2-IV0', '3.3-IV0', '3.3-IV1', '3.3-IV2', '3.3-IV3', '3.4-IV0',
  '3.5-IV0', '3.5-IV1', '3.5-IV2', '3.6-IV0', '3.6-IV1', '3.6-IV2', '3.7-IV0', '3.7-IV1', '3.7-IV2',
  '3.7-IV3', '3.7-IV4', '3.8-IV0', '3.9-IV0', '4.0-IV0', '4.0-IV1',
];

/** What Kafka 3.x reports when nothing sets it. */
export const DEFAULT_MESSAGE_FORMAT_VERSION = '3.0-IV1';

/** The release part of a revision: 2.8-IV1 -> 2.8, 0.10.2-IV0 -> 0.10.2, 0.9.0 -> 0.9.0. */
function release(version: string): string {
  const dash = version.indexOf('-');
  return dash < 0 ? version : version.slice(0, dash);
}

/** Releases a value may name without a revision: those Kafka 3.9 shipped (not its unstable 4.0). */
const RELEASES = [...new Set(MESSAGE_FORMAT_VERSIONS.filter((v) => !v.startsWith('4.')).map(release))];

const escape = (s: string): string => s.replaceAll('.', '\\.');

/**
 * A valid value as one regular expression (the operator checks spec.brokerConfig with it): a
 * known revision or release, then optionally a dot and more parts, of which at least one is not
 * empty (Kafka drops trailing empty parts, so `2.8.` is one part too few and not valid).
 */
export const MESSAGE_FORMAT_VERSION_PATTERN = new RegExp(
  `(?:${[...new Set([...MESSAGE_FORMAT_VERSIONS, ...RELEASES])].map(escape).join('|')})(?:\\..*[^.].*)?`,
);
