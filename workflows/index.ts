/** Every workflow type the worker registers. Deterministic code only (see DEVELOPING.md). */
export { runbookRun } from './runbook-run';
export { batchWorkflow } from './batch';
export { baselineSequence } from './baseline';
