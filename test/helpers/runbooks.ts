import { RunbookSpec, type StepSpec } from '../../runbooks/schema';
import { PlanSpec, type ResolvedPlan } from '../../runbooks/plan';

type StepInput = Omit<Partial<StepSpec>, 'step'> & { step: number; kind: StepSpec['kind'] };

/** A runbook built in code (validated by the same schema as YAML). */
export function testRunbook(
  steps: StepInput[],
  extra: Partial<Record<'maxParallel', number>> & {
    phases?: { id: string; title: string; plan?: 'forward' | 'backout' }[];
  } = {},
): RunbookSpec {
  return RunbookSpec.parse({
    apiVersion: 't2t/v1',
    kind: 'Runbook',
    id: 'test',
    title: 'Test runbook',
    version: 1,
    defaults: {
      maxParallel: extra.maxParallel ?? 4,
      retry: { maximumAttempts: 2, initialInterval: '200ms' },
      timeout: { startToClose: '30s' },
    },
    phases: extra.phases ?? [{ id: 'main', title: 'Main' }],
    steps: steps.map((s) => ({ title: `Step ${s.step}`, phase: 'main', ...s })),
  });
}

export const PEOPLE = {
  engineer: 'Erik Engineer',
  engineer2: 'Ana Engineer',
  pm: 'Priya Patel',
  pm2: 'Paul Manager',
  pm3: 'Pia Lead',
  owner: 'Bo Owner',
};

export function testPlan(
  overrides: Record<string, unknown> = {},
  cutoverAt = new Date(Date.now() + 3600_000).toISOString(),
): ResolvedPlan {
  const spec = PlanSpec.parse({
    apiVersion: 't2t/v1',
    kind: 'Plan',
    id: 'test-plan',
    title: 'Test plan',
    runbook: 'test',
    tenants: { source: { config: 'source' }, destination: { config: 'destination' } },
    domains: { migrated: ['contoso.com'] },
    cutover: { at: cutoverAt.replace(/\.\d+Z$/, 'Z'), timeZone: 'UTC' },
    approvers: [
      { name: PEOPLE.engineer, roles: ['engineer'] },
      { name: PEOPLE.engineer2, roles: ['engineer'] },
      { name: PEOPLE.pm, roles: ['project-manager'] },
      { name: PEOPLE.pm2, roles: ['project-manager'] },
      { name: PEOPLE.pm3, roles: ['project-manager'] },
      { name: PEOPLE.owner, roles: ['business-owner'] },
    ],
    notifications: { webhooks: [], beforeT: [] },
    ...overrides,
  });
  return { ...spec, cutover: { ...spec.cutover, atUtc: new Date(Date.parse(cutoverAt)).toISOString() } };
}
