import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { ConfigSchema } from '../../common/config';
import { ArtifactStore } from '../artifacts/store';
import type { ActionContext, ActionOutcome, AnyActionDefinition } from '../contract';

/** A minimal ActionContext for tests of the DNS actions: artifacts in a temp dir, a silent logger. */
export function testContext(
  stepId = 'step-2',
): ActionContext & { artifacts: ArtifactStore; cleanup(): void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-dns-'));
  return {
    runId: 'run-test',
    stepId,
    log: pino({ level: 'silent' }),
    config: ConfigSchema.parse({}),
    artifacts: new ArtifactStore(path.join(root, 'artifacts')),
    connectors: {
      get: () => Promise.reject(new Error('no connectors in DNS tests')),
    },
    heartbeat: () => undefined,
    signal: new AbortController().signal,
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/** Runs an action as the worker would: validates the input with its zod schema first. */
export async function runAction<R = unknown>(
  actions: AnyActionDefinition[],
  name: string,
  input: unknown,
  ctx: ActionContext,
): Promise<ActionOutcome<R>> {
  const action = actions.find((a) => a.name === name);
  if (!action) throw new Error(`no action ${name}`);
  const parsed: unknown = action.input.parse(input);
  return (await action.run(parsed, ctx)) as ActionOutcome<R>;
}

/** A clock a test moves by hand. */
export class FakeClock {
  constructor(public ms: number = Date.parse('2026-03-01T08:00:00Z')) {}
  now = (): number => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
  iso(): string {
    return new Date(this.ms).toISOString();
  }
}
