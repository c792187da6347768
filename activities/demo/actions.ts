import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { defineAction } from '../contract';

/**
 * The built-in demo runbook's actions. They act on a small local "demo tenant" file so the demo shows
 * the engine's guarantees (verification findings, idempotent change with a before-image) without a lab.
 */
interface DemoTenant {
  domains: Record<string, { holder: string; verified: boolean }>;
  settings: Record<string, string>;
}

function demoFile(root: string): string {
  return path.join(root, 'demo-tenant.json');
}

function readDemo(root: string): DemoTenant {
  const file = demoFile(root);
  if (!fs.existsSync(file)) {
    return { domains: { 'contoso.com': { holder: 'source', verified: true } }, settings: {} };
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as DemoTenant;
}

export const demoVerifyDomain = defineAction({
  name: 'demo.domain.verifyHolder',
  description: 'Verify that a domain is held and verified by the expected tenant (demo tenant file)',
  steps: [1],
  mutates: false,
  input: z.strictObject({ domain: z.string().min(3), expectedHolder: z.string().min(1) }),
  async run(input, ctx) {
    const demo = readDemo(ctx.artifacts.root);
    const d = demo.domains[input.domain.toLowerCase()];
    const ok = d?.verified && d.holder === input.expectedHolder;
    return {
      changed: false,
      summary: ok
        ? `${input.domain} is verified in ${input.expectedHolder}`
        : `${input.domain} is not verified in ${input.expectedHolder}`,
      data: { holder: d?.holder ?? null, verified: d?.verified ?? false },
      findings: ok
        ? []
        : [
            {
              severity: 'error' as const,
              message: `${input.domain} is held by ${d?.holder ?? 'no tenant'}`,
              fix: `verify ${input.domain} in the ${input.expectedHolder} tenant first`,
            },
          ],
    };
  },
});

export const demoSetting = defineAction({
  name: 'demo.setting.set',
  description: 'Set a demo tenant setting idempotently, storing its before-image',
  steps: [],
  mutates: true,
  input: z.strictObject({ name: z.string().min(1), value: z.string() }),
  async run(input, ctx) {
    const demo = readDemo(ctx.artifacts.root);
    const before = demo.settings[input.name];
    if (before === input.value) return { changed: false, summary: `${input.name} is already ${input.value}` };
    const beforeImage = await ctx.artifacts.putJson(`${ctx.runId}/${ctx.stepId}/before-image.json`, {
      name: input.name,
      value: before ?? null,
    });
    demo.settings[input.name] = input.value;
    await fs.promises.mkdir(ctx.artifacts.root, { recursive: true });
    await fs.promises.writeFile(demoFile(ctx.artifacts.root), JSON.stringify(demo, null, 2));
    return {
      changed: true,
      summary: `${input.name}: ${before ?? '(unset)'} → ${input.value}`,
      changes: [{ target: 'demo-tenant', field: input.name, before: before ?? null, after: input.value }],
      beforeImage,
    };
  },
});

export const demoActions = [demoVerifyDomain, demoSetting];
