import * as fs from 'node:fs';
import * as path from 'node:path';
import { ACTIONS, actionExists } from '../activities/registry';
import { loadRunbook } from './load';
import { loadPlan, type ResolvedPlan } from './plan';
import { parseOffset } from './duration';
import { placeholders, renderTemplate } from './template';
import type { StepSpec } from './schema';

/**
 * The standard runbook against the real activity registry and the example plan: structure, gates,
 * parameters that render and validate, and the seed runbook's defects not coming back.
 */
const { runbook, file } = loadRunbook('standard', { actionExists });
const text = fs.readFileSync(file, 'utf8');
const plan: ResolvedPlan = loadPlan(path.join(__dirname, 'plans', 'example.yaml'));
const byNumber = new Map<number, StepSpec>(runbook.steps.map((s) => [s.step, s]));
const phasePlan = new Map(runbook.phases.map((p) => [p.id, p.plan]));
const step = (n: number): StepSpec => {
  const s = byNumber.get(n);
  if (!s) throw new Error(`no step ${n}`);
  return s;
};
const planOf = (n: number) => phasePlan.get(step(n).phase);
const FORWARD = runbook.steps.filter((s) => phasePlan.get(s.phase) === 'forward');

function ancestors(n: number): Set<number> {
  const seen = new Set<number>();
  const stack = [...step(n).dependsOn];
  while (stack.length) {
    const d = stack.pop()!;
    if (seen.has(d)) continue;
    seen.add(d);
    stack.push(...step(d).dependsOn);
  }
  return seen;
}

const PLANNED = /^automation: planned action ([a-z][A-Za-z0-9]*(?:\.[a-z][A-Za-z0-9]*)+)/;
/** The action a step uses now, or the one its notes plan for it. */
function actionOf(s: StepSpec): string | undefined {
  return s.action ?? PLANNED.exec(s.notes ?? '')?.[1];
}

/** Data that earlier steps return, for parameters that refer to `steps.N.data`. */
const STEP_DATA: Record<string, { data: Record<string, unknown> }> = {
  '4': { data: { name: 'contoso.com', type: 'MX', ttl: 3600, values: [], servers: [] } },
};

const scope = {
  plan,
  run: { id: 'contoso-to-fabrikam-test', cutoverAt: plan.cutover.atUtc, startedBy: 'Priya Patel' },
  steps: STEP_DATA,
  step: { number: 0 },
};

describe('standard runbook', () => {
  test('loads with the real registry and is valid', () => {
    expect(runbook.id).toBe('standard');
    expect(runbook.apiVersion).toBe('t2t/v1');
  });

  test('has every step 1–115 exactly once, in order', () => {
    const numbers = runbook.steps.map((s) => s.step);
    expect(numbers).toEqual(Array.from({ length: 115 }, (_, i) => i + 1));
  });

  test('steps 97–115 are the back-out plan, every other step is forward', () => {
    for (const s of runbook.steps) {
      expect([s.step, phasePlan.get(s.phase)]).toEqual([s.step, s.step >= 97 ? 'backout' : 'forward']);
    }
    expect(runbook.phases.map((p) => p.id)).toEqual(
      expect.arrayContaining(['t-minus-14d', 't-minus-7d', 'migration-day', 'post-migration', 'backout']),
    );
  });

  test('every step has a title, a window, evidence and a source; verifications say what they prove', () => {
    for (const s of runbook.steps) {
      expect([s.step, !!s.title && !!s.window && !!s.evidence && !!s.source]).toEqual([s.step, true]);
      if (s.kind === 'verification') expect([s.step, !!s.verification]).toEqual([s.step, true]);
      if (s.kind === 'manual') expect([s.step, !!s.taskRole]).toEqual([s.step, true]);
    }
  });

  test('windows follow the seed timeline relative to T', () => {
    const deadline = (n: number) => parseOffset(step(n).window!.deadline!);
    const notBefore = (n: number) => parseOffset(step(n).window!.notBefore!);
    for (let n = 1; n <= 47; n++) expect([n, deadline(n) <= parseOffset('T-7d')]).toEqual([n, true]);
    for (let n = 48; n <= 58; n++) expect([n, notBefore(n) >= parseOffset('T-7d')]).toEqual([n, true]);
    for (let n = 59; n <= 91; n++) {
      if (n === 64 || n === 84) continue; // moved on purpose: see the defect tests below
      expect([n, notBefore(n) >= parseOffset('T-3d') && deadline(n) <= parseOffset('T+1d')]).toEqual([
        n,
        true,
      ]);
    }
    for (let n = 92; n <= 96; n++) expect([n, notBefore(n) > 0]).toEqual([n, true]);
    for (let n = 97; n <= 115; n++) expect([n, notBefore(n) >= 0]).toEqual([n, true]);
  });

  test('windows are feasible: no step must start before a dependency may start', () => {
    for (const s of runbook.steps) {
      if (!s.window?.deadline) continue;
      for (const d of s.dependsOn) {
        const nb = step(d).window?.notBefore;
        if (nb)
          expect([s.step, d, parseOffset(nb) <= parseOffset(s.window.deadline)]).toEqual([s.step, d, true]);
      }
    }
  });

  test('back-out links point into the back-out plan, from forward steps', () => {
    const linked = runbook.steps.filter((s) => s.backout?.length);
    expect(linked.length).toBeGreaterThanOrEqual(15);
    for (const s of linked) {
      expect([s.step, planOf(s.step)]).toEqual([s.step, 'forward']);
      for (const b of s.backout!) expect([s.step, b, planOf(b)]).toEqual([s.step, b, 'backout']);
    }
    // The UPN rewrite and the address strips are reversed from the backups.
    expect(step(67).backout).toEqual([112]);
    expect(step(71).backout).toEqual([111]);
    expect(step(69).backout).toEqual([114]);
    expect(step(73).backout).toEqual([114]);
  });

  test('the dependency graph runs preparation in parallel, not as one long chain', () => {
    const roots = FORWARD.filter((s) => s.dependsOn.length === 0);
    expect(roots.length).toBeGreaterThanOrEqual(5);
    const depth = new Map<number, number>();
    const depthOf = (n: number): number => {
      if (!depth.has(n)) depth.set(n, 1 + Math.max(0, ...step(n).dependsOn.map(depthOf)));
      return depth.get(n)!;
    };
    const longest = Math.max(...FORWARD.map((s) => depthOf(s.step)));
    expect(longest).toBeLessThan(FORWARD.length / 2);
  });

  describe('approval gates', () => {
    const gates = runbook.steps.filter((s) => s.kind === 'approval');
    const isGate = (n: number) => step(n).kind === 'approval';

    test('at least the four required gates exist, plus the preparation decisions', () => {
      expect(gates.length).toBeGreaterThanOrEqual(6);
    });

    test('go/no-go by the project manager and the business owner guards every cutover change', () => {
      const goNoGo = step(62);
      expect(goNoGo.kind).toBe('approval');
      expect(goNoGo.gate!.roles).toEqual(expect.arrayContaining(['project-manager', 'business-owner']));
      expect(goNoGo.gate!.quorum).toBeGreaterThanOrEqual(2);
      expect(goNoGo.gate!.onTimeout).toBe('deny');
      for (const s of FORWARD) {
        if (s.step === 62 || !s.window?.notBefore || parseOffset(s.window.notBefore) < 0) continue;
        if (s.step === 84 || s.step >= 92) continue; // post-migration follows the cutover anyway
        expect([s.step, ancestors(s.step).has(62)]).toEqual([s.step, true]);
      }
    });

    test('a four-eyes gate precedes the removal of the domain from the source', () => {
      expect(step(76).dependsOn).toContain(75);
      expect(step(75).kind).toBe('approval');
      expect(step(75).gate!.fourEyes).toBe(true);
      expect(step(75).gate!.quorum).toBeGreaterThanOrEqual(2);
    });

    test('a separate gate precedes the MX switch (domain verification and DNS in the destination)', () => {
      const before78 = [...ancestors(78)].filter(isGate);
      const mxGates = before78.filter((g) => !ancestors(76).has(g) && g !== 75);
      expect(mxGates).toEqual([77]);
      expect(ancestors(80).has(77)).toBe(true);
    });

    test('the back-out plan starts with the back-out decision', () => {
      expect(step(97).kind).toBe('approval');
      expect(step(97).gate!.quorum).toBeGreaterThanOrEqual(2);
      for (let n = 98; n <= 115; n++) expect([n, ancestors(n).has(97)]).toEqual([n, true]);
    });

    test('gates use the three roles, and the example plan has enough people for each quorum', () => {
      const roles = new Set(gates.flatMap((g) => g.gate!.roles));
      expect([...roles].sort()).toEqual(['business-owner', 'engineer', 'project-manager']);
      for (const g of gates) {
        const people = plan.approvers.filter((a) => a.roles.some((r) => g.gate!.roles.includes(r)));
        const needed = g.gate!.quorum + (g.gate!.fourEyes ? 1 : 0);
        expect([g.step, people.length >= needed]).toEqual([g.step, true]);
        expect([g.step, !!g.gate!.timeout]).toEqual([g.step, true]);
      }
    });
  });

  describe('actions and parameters', () => {
    const withAction = runbook.steps.filter((s) => s.kind === 'automated' || s.kind === 'verification');

    test('automated and verification steps name registered actions', () => {
      expect(withAction.length).toBeGreaterThanOrEqual(12);
      for (const s of withAction) expect([s.step, actionExists(s.action!)]).toEqual([s.step, true]);
    });

    test.each(withAction.map((s) => [s.step, s.action!] as const))(
      'step %i: params render against the example plan and pass %s input',
      (n) => {
        const s = step(n);
        for (const ref of placeholders(s.params ?? {})) {
          const m = /^steps\.(\d+)\./.exec(ref);
          if (m) {
            expect(ancestors(n).has(Number(m[1]))).toBe(true);
            expect(STEP_DATA[m[1]]).toBeDefined();
          }
        }
        const rendered = renderTemplate(s.params ?? {}, scope, `step ${n} params`);
        const parsed = ACTIONS.get(s.action!)!.input.safeParse(rendered);
        if (!parsed.success) throw new Error(`step ${n}: ${JSON.stringify(parsed.error.issues)}`);
      },
    );

    test('waiting checks poll with a limit', () => {
      for (const s of withAction) {
        const waits =
          s.action === 'dns.ttl.waitLowered' ||
          s.action === 'dns.propagation.check' ||
          (s.action === 'dns.domain.availability' && s.params?.wait === true);
        if (waits) expect([s.step, s.poll?.maxWait]).toEqual([s.step, expect.any(String)]);
      }
      expect([61, 79, 80, 108, 109].every((n) => step(n).poll?.maxWait)).toBe(true);
    });

    test('manual steps that await automation name a clear, not yet registered action', () => {
      const planned = runbook.steps.filter((s) => s.kind === 'manual' && PLANNED.test(s.notes ?? ''));
      // As actions land, planned steps become automated: together they stay the bulk of the runbook.
      const automated = runbook.steps.filter((s) => !!s.action);
      expect(planned.length + automated.length).toBeGreaterThanOrEqual(70);
      for (const s of planned) {
        const name = actionOf(s)!;
        // Once the action exists the step should become automated and name it in `action:`.
        expect([s.step, name, actionExists(name)]).toEqual([s.step, name, false]);
      }
      // Notes mention planned actions only in the leading "automation:" line.
      for (const s of runbook.steps) {
        const mentions = (s.notes ?? '').match(/planned action/g) ?? [];
        expect([s.step, mentions.length <= 1]).toEqual([s.step, true]);
      }
    });

    test('every plan placeholder in the runbook is defined by the example plan', () => {
      for (const s of runbook.steps) {
        for (const ref of placeholders(s.params ?? {})) {
          if (ref.startsWith('steps.')) continue;
          expect(() => renderTemplate(`{{ ${ref} }}`, scope)).not.toThrow();
        }
      }
    });
  });

  describe('seed defects (step-map.md section 2) are not reproduced', () => {
    const outsideSource = (s: StepSpec) =>
      [s.title, s.notes, s.evidence, s.verification, JSON.stringify(s.params ?? {})].join('\n');

    test('1: back-out steps 114–115 do not repeat forward steps 69/73', () => {
      const forward = new Set([actionOf(step(69)), actionOf(step(73))]);
      for (const n of [114, 115]) {
        expect(actionOf(step(n))).toBeDefined();
        expect([n, forward.has(actionOf(step(n)))]).toEqual([n, false]);
      }
      expect(step(114).title).toMatch(/step-50 backup/);
    });

    test('2: no hard-coded tenant, and UPNs are restored by object id from the step-49 backup', () => {
      expect(text).not.toMatch(/vivacityhealth/i);
      expect(text).not.toMatch(/contoso|fabrikam|(domain|tenant)name\.onmicrosoft/i);
      expect(step(112).title).toMatch(/step-49 backup, by object id/);
      expect(ancestors(112).has(107)).toBe(true);
    });

    test('3: the destination test accounts are created in the destination', () => {
      expect(step(21).title).toMatch(/destination/);
      expect(outsideSource(step(21))).not.toMatch(/\bsource\b/);
    });

    test('4: no on-premises-only Exchange cmdlets or retired MSOnline cmdlets outside the seed notes', () => {
      for (const s of runbook.steps) {
        expect([s.step, outsideSource(s)]).not.toEqual([
          s.step,
          expect.stringMatching(/RemoteMailbox|EmailAddressPolicyEnabled|Msol/),
        ]);
      }
    });

    test('5: step 97 does not repeat forward step 89', () => {
      expect(step(97).kind).toBe('approval');
      expect(actionOf(step(98))).not.toBe(actionOf(step(89)));
    });

    test('6/7: the restores read the backups written in 49 and 50, as JSON', () => {
      expect(step(111).title).toMatch(/step-49 backup/);
      expect(step(114).title).toMatch(/step-50 backup/);
      expect(step(49).evidence).toMatch(/JSON/);
      expect(step(50).evidence).toMatch(/JSON/);
      expect(ancestors(55).has(1)).toBe(false); // pre-stage reads the plan's batches, not a step-1 CSV
    });

    test('8: the contact backup filter matches addresses with a wildcard', () => {
      expect(step(53).notes).toMatch(/\*@domain/);
    });

    test('9: the UPN rewrite is scoped to users on the migrated domain, without a stray space', () => {
      expect(actionOf(step(67))).toBe('graph.users.rewriteUpn');
      expect(step(67).notes).toMatch(/Only users whose UPN is on the migrated domain/);
      expect(text).not.toMatch(/@ [a-z{]/);
    });

    test('10: the mailbox strip sets the primary explicitly and removes only the domain', () => {
      expect(step(71).notes).toMatch(/WindowsEmailAddress/);
      expect(step(71).notes).toMatch(/only SMTP addresses on the migrated domain/);
    });

    test('11: destination contacts are deleted before the aliases are added', () => {
      for (const n of [82, 83]) expect([n, ancestors(n).has(87) && ancestors(n).has(88)]).toEqual([n, true]);
    });

    test('12: calendar permissions use the well-known calendar, not a localised folder name', () => {
      expect(step(51).notes).toMatch(/well-known/);
    });

    test('13: the back-out restores what the seed forgot', () => {
      const checklist = step(115).evidence!;
      for (const item of ['default domain', 'federation', 'directory sync', 'DKIM', 'Teams', 'grants'])
        expect(checklist).toContain(item);
      for (const n of [22, 52, 58, 63, 64, 66]) expect([n, step(n).backout]).toEqual([n, [115]]);
    });

    test('14: the MX TTL is restored only after the back-out window, and waited for properly', () => {
      expect(planOf(84)).toBe('forward');
      expect(parseOffset(step(84).window!.notBefore!)).toBeGreaterThanOrEqual(parseOffset('T+3d'));
      expect(parseOffset(step(97).window!.deadline!)).toBeLessThanOrEqual(
        parseOffset(step(84).window!.notBefore!),
      );
      expect(ancestors(84).has(94)).toBe(true);
      expect(step(61).action).toBe('dns.ttl.waitLowered');
      expect(step(61).params?.oldTtlSeconds).toBe('{{ steps.4.data.ttl }}');
    });

    test('15: directory sync is turned off at least three days before the cutover', () => {
      expect(parseOffset(step(64).window!.deadline!)).toBeLessThanOrEqual(parseOffset('T-3d'));
      expect(ancestors(62).has(64)).toBe(true);
      expect(ancestors(67).has(64)).toBe(true);
    });

    test('17: links lost in translation are replaced by checks', () => {
      expect(step(2).action).toBe('dns.records.capture');
      expect(step(5).action).toBe('dns.domain.availability');
      expect(step(11).action).toBe('dns.blocklist.check');
      expect(step(80).action).toBe('dns.propagation.check');
    });
  });
});
