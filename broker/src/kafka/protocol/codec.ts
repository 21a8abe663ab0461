/**
 * The generic codec: encodes and decodes any message from its MessageDef. For each
 * (definition, version) the definition is compiled once, and cached, into a plan: every struct
 * becomes one generated reader and one generated writer that handle its fields in order,
 * calling small per-field closures only for variable-length types. The per-message work has no
 * version checks, no lookups and no per-field allocation beyond the values themselves.
 *
 * Decoded bytes/records are views into the input buffer (zero-copy): a caller that keeps them
 * beyond the request keeps the frame alive, and must not reuse the frame buffer.
 */
import { ProtocolError } from './protocol-error.js';
import { ByteReader } from './reader.js';
import { ZERO_UUID, type FieldDef, type MessageDef, type PrimitiveType } from './schema.js';
import { inVersions } from './versions.js';
import { ByteWriter } from './writer.js';

export type MessageValue = Record<string, unknown>;

type Read = (r: ByteReader) => unknown;
type Write = (w: ByteWriter, v: unknown) => void;

interface FieldPlan {
  readonly name: string;
  /** Reads the field in place, or produces its default when the field is absent or tagged. */
  readonly read: Read;
  /** Null when the field is not written inline (absent from the version, or tagged). */
  readonly write: Write | null;
  readonly makeDefault: () => unknown;
  /** ByteReader/ByteWriter method for a fixed-width primitive, called directly by generated code. */
  readonly method?: InlineMethod;
}

type InlineMethod = 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'float64' | 'uuid';

interface TaggedPlan {
  readonly name: string;
  readonly tag: number;
  readonly read: Read;
  readonly write: Write;
  readonly isDefault: (v: unknown) => boolean;
}

interface StructPlan {
  readonly fields: readonly FieldPlan[];
  /** Sorted by tag; empty in non-flexible versions. */
  readonly tagged: readonly TaggedPlan[];
  readonly taggedByTag: ReadonlyMap<number, TaggedPlan>;
  readonly flexible: boolean;
  /** Smallest possible encoding, used to reject absurd array counts before allocating. */
  readonly minSize: number;
}

export interface MessagePlan {
  readonly def: MessageDef;
  readonly version: number;
  readonly context: string;
  readonly flexible: boolean;
  readonly root: StructPlan;
  readonly read: (r: ByteReader) => MessageValue;
  readonly write: (w: ByteWriter, v: MessageValue) => void;
}

const planCache = new WeakMap<MessageDef, Map<number, MessagePlan>>();

/** The compiled plan for one (definition, version); cached. Throws if the version is not valid. */
export function planFor(def: MessageDef, version: number): MessagePlan {
  let byVersion = planCache.get(def);
  if (byVersion === undefined) {
    byVersion = new Map();
    planCache.set(def, byVersion);
  }
  let plan = byVersion.get(version);
  if (plan === undefined) {
    plan = compileMessage(def, version);
    byVersion.set(version, plan);
  }
  return plan;
}

export function isFlexible(def: MessageDef, version: number): boolean {
  return inVersions(def.flexibleVersions, version);
}

/** Decodes one message body starting at `offset`; returns the value and the offset after it. */
export function decodeMessage(
  def: MessageDef,
  version: number,
  buf: Buffer,
  offset = 0,
  end: number = buf.length,
): { value: MessageValue; offset: number } {
  const plan = planFor(def, version);
  const r = new ByteReader(buf, offset, end);
  try {
    const value = plan.read(r);
    return { value, offset: r.pos };
  } catch (e) {
    throw contextualise(e, plan.context);
  }
}

export function encodeMessage(def: MessageDef, version: number, value: MessageValue): Buffer {
  return withScratchWriter((w) => encodeMessageInto(w, def, version, value));
}

/** Scratch buffers above this size are not kept, so one huge response does not pin memory. */
const SCRATCH_KEEP_LIMIT = 4 * 1024 * 1024;
let scratch: ByteWriter | null = null;

/**
 * Runs `fill` against a reused scratch writer and returns an exact-size copy of what it wrote.
 * Growing a fresh buffer by doubling copies a large message several times; the scratch buffer
 * has usually grown already, so each encode costs one copy. Re-entrant calls get a fresh writer.
 */
export function withScratchWriter(fill: (w: ByteWriter) => void): Buffer {
  const w = scratch ?? new ByteWriter(64 * 1024);
  scratch = null;
  w.pos = 0;
  try {
    fill(w);
    const out = Buffer.allocUnsafe(w.pos);
    out.set(w.buf.subarray(0, w.pos));
    return out;
  } finally {
    if (w.buf.length <= SCRATCH_KEEP_LIMIT) scratch = w;
  }
}

/**
 * Like withScratchWriter, but payloads of at least `spliceMin` bytes are not copied: the result
 * is the list of pieces whose concatenation is the encoding (see ByteWriter.startParts).
 */
export function withScratchWriterParts(spliceMin: number, fill: (w: ByteWriter) => void): Buffer[] {
  const w = scratch ?? new ByteWriter(64 * 1024);
  scratch = null;
  w.pos = 0;
  let parts: Buffer[] | null = null;
  try {
    w.startParts(spliceMin);
    fill(w);
    parts = w.finishParts();
    return parts;
  } finally {
    // A failed encode must not leave the reused writer in vectored mode.
    if (parts === null) w.finishParts();
    if (w.buf.length <= SCRATCH_KEEP_LIMIT) scratch = w;
  }
}

/** Appends the encoding of `value` to `w` (lets frames share one buffer with their header). */
export function encodeMessageInto(w: ByteWriter, def: MessageDef, version: number, value: MessageValue): void {
  const plan = planFor(def, version);
  try {
    plan.write(w, value);
  } catch (e) {
    throw contextualise(e, plan.context);
  }
}

function contextualise(e: unknown, context: string): unknown {
  if (e instanceof ProtocolError) return e.inContext(context);
  if (e instanceof RangeError) return new ProtocolError(e.message).inContext(context);
  return e;
}

function compileMessage(def: MessageDef, version: number): MessagePlan {
  if (!inVersions(def.validVersions, version)) {
    throw new Error(`${def.name} has no version ${version} (valid: ${def.validVersions})`);
  }
  const flexible = isFlexible(def, version);
  const root = compileStruct(def.fields, version, flexible);
  const read = structReader(root);
  const write = structWriter(root);
  return {
    def,
    version,
    context: `${def.name} v${version}`,
    flexible,
    root,
    read,
    write: write as (w: ByteWriter, v: MessageValue) => void,
  };
}

function compileStruct(fields: readonly FieldDef[], version: number, flexible: boolean): StructPlan {
  const plans: FieldPlan[] = [];
  const tagged: TaggedPlan[] = [];
  let minSize = flexible ? 1 : 0;
  for (const f of fields) {
    const makeDefault = defaultMaker(f, version, flexible);
    const present = inVersions(f.versions, version);
    const isTagged = present && flexible && f.tag !== undefined && inVersions(f.taggedVersions, version);
    if (!present || isTagged) {
      plans.push({ name: f.name, read: makeDefault, write: null, makeDefault });
      if (isTagged) {
        const codec = fieldCodec(f, version, flexible);
        tagged.push({
          name: f.name,
          tag: f.tag!,
          read: codec.read,
          write: codec.write,
          isDefault: defaultTester(f, version, flexible),
        });
      }
      continue;
    }
    const codec = fieldCodec(f, version, flexible);
    minSize += codec.minSize;
    plans.push({ name: f.name, read: codec.read, write: codec.write, makeDefault, ...(codec.method ? { method: codec.method } : {}) });
  }
  tagged.sort((a, b) => a.tag - b.tag);
  const taggedByTag = new Map<number, TaggedPlan>();
  for (const t of tagged) {
    if (taggedByTag.has(t.tag)) throw new Error(`duplicate tag ${t.tag} (${t.name})`);
    taggedByTag.set(t.tag, t);
  }
  return { fields: plans, tagged, taggedByTag, flexible, minSize };
}

interface FieldCodec {
  readonly read: Read;
  readonly write: Write;
  readonly minSize: number;
  readonly method?: InlineMethod;
}

function fieldCodec(f: FieldDef, version: number, flexible: boolean): FieldCodec {
  const nullable = inVersions(f.nullableVersions, version);
  if (f.array === true) {
    const elem = elementCodec(f, version, flexible);
    return arrayCodec(elem, nullable, flexible);
  }
  if (f.type === 'struct') {
    const inner = compileStruct(requireFields(f), version, flexible);
    const read = structReader(inner);
    const write = structWriter(inner);
    if (!nullable) return { read, write, minSize: inner.minSize };
    // A nullable struct carries a one-byte presence marker (-1 = null) before its fields.
    return {
      read: (r) => (r.int8() < 0 ? null : read(r)),
      write: (w, v) => {
        if (v === null || v === undefined) return w.int8(-1);
        w.int8(1);
        write(w, v);
      },
      minSize: 1,
    };
  }
  return primitiveCodec(f.type, nullable, flexible);
}

function elementCodec(f: FieldDef, version: number, flexible: boolean): FieldCodec {
  if (f.type === 'struct') {
    const inner = compileStruct(requireFields(f), version, flexible);
    return { read: structReader(inner), write: structWriter(inner), minSize: inner.minSize };
  }
  return primitiveCodec(f.type, false, flexible);
}

function requireFields(f: FieldDef): readonly FieldDef[] {
  if (f.fields === undefined) throw new Error(`struct field ${f.name} has no fields`);
  return f.fields;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Compiles a struct reader into one function whose body reads every field in order and builds
 * the object with a literal, so every decoded struct of a plan shares one hidden class and
 * fixed-width fields are read without an extra call. Names come from our own definitions and are
 * checked to be identifiers before they reach generated code.
 */
function structReader(plan: StructPlan): (r: ByteReader) => MessageValue {
  const fields = plan.fields;
  for (const f of fields) if (!IDENTIFIER.test(f.name)) throw new Error(`field name ${JSON.stringify(f.name)} is not an identifier`);
  const decls = fields.map((_, k) => `v${k}`);
  const reads = fields.map((f, k) => {
    const expr = f.write === null ? constantExpression(f.makeDefault) ?? `R[${k}](r)` : f.method !== undefined ? `r.${f.method}()` : `R[${k}](r)`;
    return `i = ${k}; v${k} = ${expr};`;
  });
  const literal = fields.map((f, k) => `${f.name}: v${k}`).join(', ');
  const body = [
    `let i = 0${decls.map((d) => `, ${d}`).join('')};`,
    `try { ${reads.join(' ')} } catch (e) { if (e instanceof PE) e.inField(NAMES[i]); throw e; }`,
    `const out = { ${literal} };`,
    plan.flexible ? 'readTagged(r, plan, out);' : '',
    'return out;',
  ].join('\n');
  const factory = new Function('PE', 'NAMES', 'R', 'readTagged', 'plan', `return function readStruct(r) {\n${body}\n};`) as (
    ...args: unknown[]
  ) => (r: ByteReader) => MessageValue;
  return factory(
    ProtocolError,
    fields.map((f) => f.name),
    fields.map((f) => f.read),
    readTaggedFields,
    plan,
  );
}

/** A JavaScript literal for defaults that are immutable constants (fresh arrays/objects need a call). */
function constantExpression(makeDefault: () => unknown): string | undefined {
  const d = makeDefault();
  if (d === null) return 'null';
  if (typeof d === 'boolean') return d ? 'true' : 'false';
  if (typeof d === 'number' && Number.isFinite(d)) return String(d);
  if (typeof d === 'string') return JSON.stringify(d);
  return undefined;
}

function readTaggedFields(r: ByteReader, plan: StructPlan, out: MessageValue): void {
  let count: number;
  try {
    count = r.uvarint();
  } catch (e) {
    if (e instanceof ProtocolError) e.inField('_taggedFields');
    throw e;
  }
  // Each tagged field takes at least two bytes (tag and size).
  if (count * 2 > r.remaining) {
    throw new ProtocolError(`tagged field count ${count} exceeds remaining ${r.remaining} bytes`).inField('_taggedFields');
  }
  let lastTag = -1;
  for (let k = 0; k < count; k++) {
    let name = '_taggedFields';
    try {
      const tag = r.uvarint();
      if (tag <= lastTag) throw new ProtocolError(`tag ${tag} is not in ascending order`);
      lastTag = tag;
      const size = r.uvarint();
      r.checkLength(size);
      const t = plan.taggedByTag.get(tag);
      if (t === undefined) {
        r.skip(size);
        continue;
      }
      name = t.name;
      const sub = new ByteReader(r.buf, r.pos, r.pos + size);
      out[t.name] = t.read(sub);
      if (sub.pos !== sub.end) throw new ProtocolError(`tagged field ${tag} left ${sub.end - sub.pos} of ${size} bytes unread`);
      r.pos += size;
    } catch (e) {
      if (e instanceof ProtocolError) e.inField(name);
      throw e;
    }
  }
}

/** Compiles a struct writer the same way: one function, direct property reads, direct primitive writes. */
function structWriter(plan: StructPlan): Write {
  const fields = plan.fields.filter((f) => f.write !== null);
  const stmts = fields.map((f, k) => {
    const d = constantExpression(f.makeDefault) ?? `D[${k}]()`;
    const call = f.method !== undefined ? `w.${f.method}(x)` : `W[${k}](w, x)`;
    return `i = ${k}; x = v.${f.name}; if (x === undefined) x = ${d}; ${call};`;
  });
  const body = [
    "if (typeof v !== 'object' || v === null) throw new PE('expected an object, got ' + (v === null ? 'null' : typeof v));",
    'let i = 0, x;',
    `try { ${stmts.join(' ')} } catch (e) { if (e instanceof PE) e.inField(NAMES[i]); throw e; }`,
    !plan.flexible ? '' : plan.tagged.length === 0 ? 'w.ensure(1); w.buf[w.pos++] = 0;' : 'writeTagged(w, tagged, v);',
  ].join('\n');
  const factory = new Function('PE', 'NAMES', 'W', 'D', 'writeTagged', 'tagged', `return function writeStruct(w, v) {\n${body}\n};`) as (
    ...args: unknown[]
  ) => Write;
  return factory(
    ProtocolError,
    fields.map((f) => f.name),
    fields.map((f) => f.write),
    fields.map((f) => f.makeDefault),
    writeTaggedFields,
    plan.tagged,
  );
}

function writeTaggedFields(w: ByteWriter, tagged: readonly TaggedPlan[], obj: MessageValue): void {
  if (tagged.length === 0) {
    w.uvarint(0);
    return;
  }
  let count = 0;
  for (const t of tagged) if (!t.isDefault(obj[t.name])) count++;
  w.uvarint(count);
  if (count === 0) return;
  for (const t of tagged) {
    const value = obj[t.name];
    if (t.isDefault(value)) continue;
    try {
      // The size prefix precedes the value, so encode it aside first; tagged fields are rare and small.
      const sub = new ByteWriter(64);
      t.write(sub, value);
      w.uvarint(t.tag);
      w.uvarint(sub.pos);
      w.raw(sub.finish());
    } catch (e) {
      if (e instanceof ProtocolError) e.inField(t.name);
      throw e;
    }
  }
}

function arrayCodec(elem: FieldCodec, nullable: boolean, flexible: boolean): FieldCodec {
  const readElem = elem.read;
  const writeElem = elem.write;
  const minElem = Math.max(1, elem.minSize);
  const read: Read = (r) => {
    let count: number;
    if (flexible) {
      const n = r.uvarint();
      if (n === 0) {
        if (nullable) return null;
        throw new ProtocolError('null array is not allowed in this version');
      }
      count = n - 1;
    } else {
      count = r.int32();
      if (count < 0) {
        if (count === -1 && nullable) return null;
        throw new ProtocolError(count === -1 ? 'null array is not allowed in this version' : `negative array length ${count}`);
      }
    }
    if (count * minElem > r.remaining) {
      throw new ProtocolError(`array count ${count} exceeds remaining ${r.remaining} bytes`);
    }
    const out = new Array<unknown>(count);
    let i = 0;
    try {
      for (; i < count; i++) out[i] = readElem(r);
    } catch (e) {
      if (e instanceof ProtocolError) e.inElement(i);
      throw e;
    }
    return out;
  };
  const write: Write = (w, v) => {
    if (v === null) {
      if (!nullable) throw new ProtocolError('null array is not allowed in this version');
      if (flexible) w.uvarint(0);
      else w.int32(-1);
      return;
    }
    if (!Array.isArray(v)) throw new ProtocolError(`expected an array, got ${typeof v}`);
    const n = v.length;
    if (flexible) w.uvarint(n + 1);
    else w.int32(n);
    let i = 0;
    try {
      for (; i < n; i++) writeElem(w, v[i]);
    } catch (e) {
      if (e instanceof ProtocolError) e.inElement(i);
      throw e;
    }
  };
  return { read, write, minSize: flexible ? 1 : 4 };
}

function primitiveCodec(type: PrimitiveType, nullable: boolean, flexible: boolean): FieldCodec {
  switch (type) {
    case 'bool':
      return { read: (r) => r.bool(), write: (w, v) => w.bool(expectBoolean(v)), minSize: 1 };
    case 'int8':
      return { read: (r) => r.int8(), write: (w, v) => w.int8(v as number), minSize: 1, method: 'int8' };
    case 'int16':
      return { read: (r) => r.int16(), write: (w, v) => w.int16(v as number), minSize: 2, method: 'int16' };
    case 'uint16':
      return { read: (r) => r.uint16(), write: (w, v) => w.uint16(v as number), minSize: 2, method: 'uint16' };
    case 'int32':
      return { read: (r) => r.int32(), write: (w, v) => w.int32(v as number), minSize: 4, method: 'int32' };
    case 'uint32':
      return { read: (r) => r.uint32(), write: (w, v) => w.uint32(v as number), minSize: 4, method: 'uint32' };
    case 'int64':
      return { read: (r) => r.int64(), write: (w, v) => w.int64(v as number | bigint), minSize: 8, method: 'int64' };
    case 'float64':
      return { read: (r) => r.float64(), write: (w, v) => w.float64(v as number), minSize: 8, method: 'float64' };
    case 'uuid':
      return { read: (r) => r.uuid(), write: (w, v) => w.uuid(v as string), minSize: 16, method: 'uuid' };
    case 'string':
      return stringCodec(nullable, flexible);
    case 'bytes':
    case 'records':
      return bytesCodec(nullable, flexible);
    default:
      throw new Error(`unknown primitive type ${String(type)}`);
  }
}

function expectBoolean(v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ProtocolError(`expected a boolean, got ${typeof v}`);
  return v;
}

function stringCodec(nullable: boolean, flexible: boolean): FieldCodec {
  const read: Read = flexible
    ? (r) => {
        const n = r.uvarint();
        if (n === 0) {
          if (nullable) return null;
          throw new ProtocolError('null string is not allowed in this version');
        }
        return r.utf8(n - 1);
      }
    : (r) => {
        const len = r.int16();
        if (len < 0) {
          if (len === -1 && nullable) return null;
          throw new ProtocolError(len === -1 ? 'null string is not allowed in this version' : `negative string length ${len}`);
        }
        return r.utf8(len);
      };
  const write: Write = (w, v) => {
    if (v === null) {
      if (!nullable) throw new ProtocolError('null string is not allowed in this version');
      if (flexible) w.uvarint(0);
      else w.int16(-1);
      return;
    }
    if (typeof v !== 'string') throw new ProtocolError(`expected a string, got ${typeof v}`);
    const len = Buffer.byteLength(v, 'utf8');
    if (flexible) w.uvarint(len + 1);
    else if (len > 32767) throw new ProtocolError(`string of ${len} bytes exceeds 32767`);
    else w.int16(len);
    w.utf8(v, len);
  };
  return { read, write, minSize: flexible ? 1 : 2 };
}

function bytesCodec(nullable: boolean, flexible: boolean): FieldCodec {
  const read: Read = flexible
    ? (r) => {
        const n = r.uvarint();
        if (n === 0) {
          if (nullable) return null;
          throw new ProtocolError('null bytes are not allowed in this version');
        }
        return r.bytes(n - 1);
      }
    : (r) => {
        const len = r.int32();
        if (len < 0) {
          if (len === -1 && nullable) return null;
          throw new ProtocolError(len === -1 ? 'null bytes are not allowed in this version' : `negative bytes length ${len}`);
        }
        return r.bytes(len);
      };
  const write: Write = (w, v) => {
    if (v === null) {
      if (!nullable) throw new ProtocolError('null bytes are not allowed in this version');
      if (flexible) w.uvarint(0);
      else w.int32(-1);
      return;
    }
    if (!(v instanceof Uint8Array)) throw new ProtocolError(`expected a Buffer, got ${typeof v}`);
    if (flexible) w.uvarint(v.length + 1);
    else w.int32(v.length);
    w.payload(v);
  };
  return { read, write, minSize: flexible ? 1 : 4 };
}

/** The value a field takes when it is absent from the wire (see the conventions in schema.ts). */
function defaultMaker(f: FieldDef, version: number, flexible: boolean): () => unknown {
  const nullableHere = inVersions(f.nullableVersions, version);
  const nullableAnywhere = f.nullableVersions !== undefined && f.nullableVersions !== 'none';
  if (f.default !== undefined) {
    const d = coerceDefault(f);
    return () => d;
  }
  if (f.array === true) return nullableAnywhere && !inVersions(f.versions, version) ? () => null : () => [];
  if (f.type === 'struct') {
    if (nullableHere) return () => null;
    const inner = compileStruct(requireFields(f), version, flexible);
    return () => {
      const out: MessageValue = {};
      for (const p of inner.fields) out[p.name] = p.makeDefault();
      return out;
    };
  }
  if (nullableAnywhere && !inVersions(f.versions, version)) return () => null;
  switch (f.type) {
    case 'bool':
      return () => false;
    case 'string':
      return () => '';
    case 'uuid':
      return () => ZERO_UUID;
    case 'bytes':
    case 'records':
      return nullableAnywhere ? () => null : () => Buffer.alloc(0);
    default:
      return () => 0;
  }
}

function coerceDefault(f: FieldDef): unknown {
  const d = f.default;
  if (d === null || d === undefined) return null;
  switch (f.type) {
    case 'bool':
      return d === true || d === 'true';
    case 'string':
    case 'uuid':
      return String(d);
    case 'bytes':
    case 'records':
    case 'struct':
      return null;
    default:
      return typeof d === 'number' ? d : Number(d);
  }
}

/** Whether a tagged field's value equals its default, in which case it is left off the wire. */
function defaultTester(f: FieldDef, version: number, flexible: boolean): (v: unknown) => boolean {
  if (f.array === true) return (v) => v === undefined || v === null || (Array.isArray(v) && v.length === 0 && !inVersions(f.nullableVersions, version));
  if (f.type === 'struct') {
    const testers = requireFields(f)
      .filter((g) => inVersions(g.versions, version))
      .map((g) => ({ name: g.name, isDefault: defaultTester(g, version, flexible) }));
    return (v) => {
      if (v === undefined || v === null) return true;
      if (typeof v !== 'object') return false;
      const obj = v as MessageValue;
      for (const t of testers) if (!t.isDefault(obj[t.name])) return false;
      return true;
    };
  }
  const d = defaultMaker(f, version, flexible)();
  if (d instanceof Uint8Array) return (v) => v === undefined || (v instanceof Uint8Array && v.length === 0);
  return (v) => v === undefined || v === d;
}
