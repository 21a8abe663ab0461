/**
 * TypeScript shapes of message bodies, derived from the definitions themselves so they can never
 * drift from the codec: `BodyOf<typeof ProduceRequest>` is exactly what decodeMessage returns.
 * A field nullable in any version is typed `| null`; a field absent from the version read holds
 * its default. `EncodableBodyOf` is what an encoder accepts: every field optional (defaults fill
 * the gaps) and arrays may be readonly.
 */
import type { FieldDef, MessageDef, PrimitiveType } from '../schema.js';

interface PrimitiveValues {
  bool: boolean;
  int8: number;
  int16: number;
  int32: number;
  int64: number;
  uint16: number;
  uint32: number;
  float64: number;
  uuid: string;
  string: string;
  bytes: Buffer;
  records: Buffer;
}

type DecodedElementOf<F> = F extends { readonly type: 'struct'; readonly fields: infer S extends readonly FieldDef[] }
  ? FieldsBody<S>
  : F extends { readonly type: infer P extends PrimitiveType }
    ? PrimitiveValues[P]
    : never;

type NullIfNullable<F> = F extends { readonly nullableVersions: string } ? null : never;

type ValueOf<F> = (F extends { readonly array: true } ? DecodedElementOf<F>[] : DecodedElementOf<F>) | NullIfNullable<F>;

export type FieldsBody<S extends readonly FieldDef[]> = { [F in S[number] as F['name']]: ValueOf<F> };

/** The decoded body of message definition D. */
export type BodyOf<D extends MessageDef> = FieldsBody<D['fields']>;

type EncodableElementOf<F> = F extends { readonly type: 'struct'; readonly fields: infer S extends readonly FieldDef[] }
  ? EncodableFields<S>
  : F extends { readonly type: 'int64' }
    ? number | bigint
    : F extends { readonly type: infer P extends PrimitiveType }
      ? PrimitiveValues[P]
      : never;

type EncodableValueOf<F> =
  | (F extends { readonly array: true } ? readonly EncodableElementOf<F>[] : EncodableElementOf<F>)
  | NullIfNullable<F>;

export type EncodableFields<S extends readonly FieldDef[]> = { [F in S[number] as F['name']]?: EncodableValueOf<F> };

/** What encodeMessage accepts for D: missing fields are written as their defaults. */
export type EncodableBodyOf<D extends MessageDef> = EncodableFields<D['fields']>;

/**
 * Whether a handler may leave a response field out: only tagged fields, which are omitted from
 * the wire when at their default anyway. Every other field must be given, so a misspelled name
 * is a missing field and does not compile, however the body was built (object literals lose
 * their excess-property check once they pass through `map` or a variable).
 */
type MayOmit<F> = F extends { readonly tag: number } ? true : false;

type ResponseElementOf<F> = F extends { readonly type: 'struct'; readonly fields: infer S extends readonly FieldDef[] }
  ? ResponseFields<S>
  : F extends { readonly type: 'int64' }
    ? number | bigint
    : F extends { readonly type: infer P extends PrimitiveType }
      ? PrimitiveValues[P]
      : never;

type ResponseValueOf<F> =
  | (F extends { readonly array: true } ? readonly ResponseElementOf<F>[] : ResponseElementOf<F>)
  | NullIfNullable<F>;

export type ResponseFields<S extends readonly FieldDef[]> = {
  [F in S[number] as MayOmit<F> extends true ? never : F['name']]: ResponseValueOf<F>;
} & {
  [F in S[number] as MayOmit<F> extends true ? F['name'] : never]?: ResponseValueOf<F>;
};

/** What a handler returns for response definition D: checked field by field by the compiler. */
export type ResponseBodyOf<D extends MessageDef> = ResponseFields<D['fields']>;

/** The element type of an array field's type (to name nested structs: `ElementOf<Body['topics']>`). */
export type ElementOf<T> = T extends readonly (infer E)[] ? E : never;

/** Views an untyped decoded body as the body of `def` (the codec guarantees the shape). */
export function bodyAs<D extends MessageDef>(_def: D, body: Record<string, unknown>): BodyOf<D> {
  return body as BodyOf<D>;
}
