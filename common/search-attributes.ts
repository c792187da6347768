import { defineSearchAttributeKey } from '@temporalio/common';

/** Search attributes t2t sets on runs so `t2t run list` can filter by status and runbook. */
export const RUN_STATUS = defineSearchAttributeKey('T2tRunStatus', 'KEYWORD');
export const RUNBOOK_ID = defineSearchAttributeKey('T2tRunbook', 'KEYWORD');
export const PLAN_ID = defineSearchAttributeKey('T2tPlan', 'KEYWORD');
export const RUN_KIND = defineSearchAttributeKey('T2tKind', 'KEYWORD');

export const SEARCH_ATTRIBUTES = [RUN_STATUS, RUNBOOK_ID, PLAN_ID, RUN_KIND];

/** The `--search-attribute` flags for `temporal server start-dev`. */
export function searchAttributeFlags(): string[] {
  return SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=Keyword`]);
}
