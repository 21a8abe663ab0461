/**
 * The declarative form of a Kafka message, written by us from the public protocol specification
 * (https://kafka.apache.org/protocol). One generic engine (codec.ts) encodes and decodes every
 * message from these definitions; no API has hand-written encode/decode.
 *
 * Conventions every definition and every handler relies on:
 * - Field names are the camelCase form of the specification's names (TopicData -> topicData).
 * - Decoded values: int8/16/32, uint16/32, float64 -> number; int64 -> number (offsets and
 *   timestamps stay far below 2^53; encode clamps to the int64 range); bool -> boolean;
 *   string -> string; bytes -> Buffer; records -> Buffer (raw record-batch bytes, untouched);
 *   uuid -> lowercase hyphenated string ("00000000-0000-0000-0000-000000000000" is the zero id);
 *   struct -> object; array -> array.
 * - A nullable field in a version where it is nullable decodes null as null.
 * - A field absent from the version being read decodes to its default (0, false, "", [],
 *   null for nullable types, or `default` when given). Encoding a version that lacks a field
 *   skips it; encoding a missing value writes the default.
 */

/** The zero uuid: the specification's "no topic id" (and the decoded default of a uuid field). */
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** Version ranges as in the specification: "0+", "3-7", "5", or "none". */
export type Versions = string;

export type PrimitiveType =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint16'
  | 'uint32'
  | 'float64'
  | 'uuid'
  | 'string'
  | 'bytes'
  | 'records';

export interface FieldDef {
  readonly name: string;
  /** A primitive, or 'struct' with `fields`. */
  readonly type: PrimitiveType | 'struct';
  /** An array of `type` (the specification's `[]Type`). */
  readonly array?: boolean;
  readonly fields?: readonly FieldDef[];
  readonly versions: Versions;
  readonly nullableVersions?: Versions;
  /** Tagged fields exist only in flexible versions and carry `tag`. */
  readonly taggedVersions?: Versions;
  readonly tag?: number;
  readonly default?: string | number | boolean | null;
  /** True where a writer may drop the field silently if the version lacks it. */
  readonly ignorable?: boolean;
}

export interface MessageDef {
  readonly name: string;
  readonly apiKey: number;
  readonly kind: 'request' | 'response';
  readonly validVersions: Versions;
  /** Versions that use compact encodings and tagged fields (KIP-482). */
  readonly flexibleVersions: Versions;
  readonly fields: readonly FieldDef[];
}

/** One API as the server serves it: both message definitions and the versions we advertise. */
export interface ApiDef {
  readonly apiKey: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly request: MessageDef;
  readonly response: MessageDef;
}
