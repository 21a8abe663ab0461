/**
 * One interface over every real Kafka client the suite runs against Chronik, so each client
 * goes through the same scenarios (clients.test.ts). Drivers start the real client: a library
 * in this process (kafkajs, @platformatic/kafka) or a child process (kcat, python).
 */
export interface ConsumedMessage {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string;
}

export interface ProduceInput {
  readonly key: string | null;
  readonly value: string;
  readonly partition?: number;
}

export interface ProduceOptions {
  readonly compression: string;
}

export type MemberEvent =
  | { readonly event: 'assigned'; readonly partitions: readonly number[] }
  | { readonly event: 'revoked'; readonly partitions: readonly number[] }
  | ({ readonly event: 'message' } & ConsumedMessage);

/** A long-running consumer-group member. */
export interface GroupMember {
  /** Partitions this member owns now (as last reported by the client). */
  owned(): ReadonlySet<number>;
  messages(): readonly ConsumedMessage[];
  /** Leaves the group cleanly and resolves once the client has exited. */
  stop(): Promise<void>;
}

export interface AdminOutcome {
  readonly partitionsAfterCreate: number;
  readonly partitionsAfterGrow: number;
  readonly retentionMs: string | null;
  readonly deleted: boolean;
}

export interface ClientDriver {
  readonly name: string;
  /** Codecs this client can produce with here ('none' first). */
  readonly compressions: readonly string[];
  produce(bootstrap: string, topic: string, messages: readonly ProduceInput[], opts: ProduceOptions): Promise<void>;
  /** Reads `count` messages from the earliest offset as a member of `group`, committing as it goes. */
  consume(bootstrap: string, topic: string, group: string, count: number, timeoutMs: number): Promise<ConsumedMessage[]>;
  joinGroup(bootstrap: string, topic: string, group: string): Promise<GroupMember>;
  /** Create, describe, grow and delete a topic, if this client has an admin API. */
  admin?(bootstrap: string, topic: string, partitions: number): Promise<AdminOutcome>;
}
