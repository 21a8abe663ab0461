/**
 * TypeScript shapes of message bodies, derived from the definitions themselves so they can never
 * drift from the codec: `BodyOf<typeof ProduceRequest>` is exactly what decodeMessage returns.
 * A field nullable in any version is typed `| null`; a field absent from the version read holds
 * its default. `EncodableBodyOf` is what an encoder accepts: every field optional (defaults fill
 * the gaps) and arrays may be readonly.
 */
import type { FieldDef, MessageDef, PrimitiveType } from '../schema.js';
import type * as M from './index.js';

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

type ElementOf<F> = F extends { readonly type: 'struct'; readonly fields: infer S extends readonly FieldDef[] }
  ? FieldsBody<S>
  : F extends { readonly type: infer P extends PrimitiveType }
    ? PrimitiveValues[P]
    : never;

type NullIfNullable<F> = F extends { readonly nullableVersions: string } ? null : never;

type ValueOf<F> = (F extends { readonly array: true } ? ElementOf<F>[] : ElementOf<F>) | NullIfNullable<F>;

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

/** Views an untyped decoded body as the body of `def` (the codec guarantees the shape). */
export function bodyAs<D extends MessageDef>(_def: D, body: Record<string, unknown>): BodyOf<D> {
  return body as BodyOf<D>;
}

export type ApiVersionsRequestBody = BodyOf<typeof M.ApiVersionsRequest>;
export type ApiVersionsResponseBody = BodyOf<typeof M.ApiVersionsResponse>;
export type MetadataRequestBody = BodyOf<typeof M.MetadataRequest>;
export type MetadataResponseBody = BodyOf<typeof M.MetadataResponse>;
export type ProduceRequestBody = BodyOf<typeof M.ProduceRequest>;
export type ProduceResponseBody = BodyOf<typeof M.ProduceResponse>;
export type FetchRequestBody = BodyOf<typeof M.FetchRequest>;
export type FetchResponseBody = BodyOf<typeof M.FetchResponse>;
export type ListOffsetsRequestBody = BodyOf<typeof M.ListOffsetsRequest>;
export type ListOffsetsResponseBody = BodyOf<typeof M.ListOffsetsResponse>;
export type OffsetForLeaderEpochRequestBody = BodyOf<typeof M.OffsetForLeaderEpochRequest>;
export type OffsetForLeaderEpochResponseBody = BodyOf<typeof M.OffsetForLeaderEpochResponse>;
export type DeleteRecordsRequestBody = BodyOf<typeof M.DeleteRecordsRequest>;
export type DeleteRecordsResponseBody = BodyOf<typeof M.DeleteRecordsResponse>;
export type FindCoordinatorRequestBody = BodyOf<typeof M.FindCoordinatorRequest>;
export type FindCoordinatorResponseBody = BodyOf<typeof M.FindCoordinatorResponse>;
export type JoinGroupRequestBody = BodyOf<typeof M.JoinGroupRequest>;
export type JoinGroupResponseBody = BodyOf<typeof M.JoinGroupResponse>;
export type SyncGroupRequestBody = BodyOf<typeof M.SyncGroupRequest>;
export type SyncGroupResponseBody = BodyOf<typeof M.SyncGroupResponse>;
export type HeartbeatRequestBody = BodyOf<typeof M.HeartbeatRequest>;
export type HeartbeatResponseBody = BodyOf<typeof M.HeartbeatResponse>;
export type LeaveGroupRequestBody = BodyOf<typeof M.LeaveGroupRequest>;
export type LeaveGroupResponseBody = BodyOf<typeof M.LeaveGroupResponse>;
export type DescribeGroupsRequestBody = BodyOf<typeof M.DescribeGroupsRequest>;
export type DescribeGroupsResponseBody = BodyOf<typeof M.DescribeGroupsResponse>;
export type ListGroupsRequestBody = BodyOf<typeof M.ListGroupsRequest>;
export type ListGroupsResponseBody = BodyOf<typeof M.ListGroupsResponse>;
export type DeleteGroupsRequestBody = BodyOf<typeof M.DeleteGroupsRequest>;
export type DeleteGroupsResponseBody = BodyOf<typeof M.DeleteGroupsResponse>;
export type OffsetCommitRequestBody = BodyOf<typeof M.OffsetCommitRequest>;
export type OffsetCommitResponseBody = BodyOf<typeof M.OffsetCommitResponse>;
export type OffsetFetchRequestBody = BodyOf<typeof M.OffsetFetchRequest>;
export type OffsetFetchResponseBody = BodyOf<typeof M.OffsetFetchResponse>;
export type OffsetDeleteRequestBody = BodyOf<typeof M.OffsetDeleteRequest>;
export type OffsetDeleteResponseBody = BodyOf<typeof M.OffsetDeleteResponse>;
export type CreateTopicsRequestBody = BodyOf<typeof M.CreateTopicsRequest>;
export type CreateTopicsResponseBody = BodyOf<typeof M.CreateTopicsResponse>;
export type DeleteTopicsRequestBody = BodyOf<typeof M.DeleteTopicsRequest>;
export type DeleteTopicsResponseBody = BodyOf<typeof M.DeleteTopicsResponse>;
export type CreatePartitionsRequestBody = BodyOf<typeof M.CreatePartitionsRequest>;
export type CreatePartitionsResponseBody = BodyOf<typeof M.CreatePartitionsResponse>;
export type DescribeConfigsRequestBody = BodyOf<typeof M.DescribeConfigsRequest>;
export type DescribeConfigsResponseBody = BodyOf<typeof M.DescribeConfigsResponse>;
export type AlterConfigsRequestBody = BodyOf<typeof M.AlterConfigsRequest>;
export type AlterConfigsResponseBody = BodyOf<typeof M.AlterConfigsResponse>;
export type IncrementalAlterConfigsRequestBody = BodyOf<typeof M.IncrementalAlterConfigsRequest>;
export type IncrementalAlterConfigsResponseBody = BodyOf<typeof M.IncrementalAlterConfigsResponse>;
export type InitProducerIdRequestBody = BodyOf<typeof M.InitProducerIdRequest>;
export type InitProducerIdResponseBody = BodyOf<typeof M.InitProducerIdResponse>;
export type DescribeClusterRequestBody = BodyOf<typeof M.DescribeClusterRequest>;
export type DescribeClusterResponseBody = BodyOf<typeof M.DescribeClusterResponse>;
