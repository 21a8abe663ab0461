import type { Condition, ConditionStatus, ConditionType } from '../api/types.js';

/** Sets a condition, keeping lastTransitionTime unless the status flips. */
export function setCondition(
  existing: readonly Condition[] | undefined,
  type: ConditionType,
  status: ConditionStatus,
  reason: string,
  message: string,
  generation: number,
  now: string,
): Condition[] {
  const list = [...(existing ?? [])];
  const i = list.findIndex((c) => c.type === type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type,
    status,
    reason,
    message,
    observedGeneration: generation,
    lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now,
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

export function conditionOf(list: readonly Condition[] | undefined, type: ConditionType): Condition | undefined {
  return list?.find((c) => c.type === type);
}
