import { validateRunbookText, loadRunbook, findCycle } from './load';
import { parseDuration, parseOffset, formatOffset } from './duration';
import { renderTemplate, TemplateError } from './template';

const HEADER = `apiVersion: t2t/v1
kind: Runbook
id: t
title: T
version: 1
phases:
  - { id: prep, title: Prep }
  - { id: back, title: Back-out, plan: backout }
steps:
`;

function problems(steps: string, actionExists = (n: string) => n.startsWith('ok.')) {
  return validateRunbookText(HEADER + steps, { actionExists }).problems;
}

test('a valid runbook has no problems', () => {
  const p = problems(`  - { step: 1, title: A, phase: prep, kind: automated, action: ok.one.go }
  - { step: 2, title: B, phase: prep, kind: approval, dependsOn: [1], gate: { roles: [project-manager] } }
  - { step: 3, title: C, phase: back, kind: manual }
`);
  expect(p).toEqual([]);
});

test('schema errors give the line and the step number', () => {
  const p = problems(`  - step: 1
    title: A
    phase: prep
    kind: automatic
`);
  expect(p[0]).toMatchObject({ line: 13, path: 'step 1.kind' });
  expect(p[0].message).toMatch(/automated/);
});

test('unknown action, unknown phase, missing dependency, missing gate are each reported at their line', () => {
  const p = problems(`  - { step: 1, title: A, phase: prep, kind: automated, action: nope.not.here }
  - { step: 2, title: B, phase: later, kind: manual }
  - { step: 3, title: C, phase: prep, kind: manual, dependsOn: [9] }
  - { step: 4, title: D, phase: prep, kind: approval }
`);
  const text = p.map((x) => `${x.line}:${x.path}:${x.message}`);
  expect(text).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^10:step 1\.action:action "nope\.not\.here" is not in the activity registry/),
      expect.stringMatching(/^11:step 2\.phase:phase "later" is not defined/),
      expect.stringMatching(/^12:step 3\.dependsOn\.0:depends on step 9, which does not exist/),
      expect.stringMatching(/^13:step 4\.kind:an approval step needs a gate/),
    ]),
  );
});

test('a dependency cycle is found and printed', () => {
  const p = problems(`  - { step: 1, title: A, phase: prep, kind: manual, dependsOn: [3] }
  - { step: 2, title: B, phase: prep, kind: manual, dependsOn: [1] }
  - { step: 3, title: C, phase: prep, kind: manual, dependsOn: [2] }
`);
  expect(p.map((x) => x.message).join()).toMatch(/dependency cycle: 1 → 3 → 2 → 1/);
  expect(findCycle([{ step: 1, dependsOn: [] }])).toBeUndefined();
});

test('dependencies stay within one plan; back-out links must point at back-out steps', () => {
  const p = problems(`  - { step: 1, title: A, phase: prep, kind: manual, backout: [1] }
  - { step: 2, title: B, phase: back, kind: manual, dependsOn: [1] }
`);
  expect(p.map((x) => x.message)).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/step 1 is not in a back-out phase/),
      expect.stringMatching(/dependencies stay within one plan/),
    ]),
  );
});

test('placeholders may only refer to the plan and to dependencies', () => {
  const p =
    problems(`  - { step: 1, title: A, phase: prep, kind: automated, action: ok.a.b, params: { x: '{{ steps.2.data.y }}', y: '{{ env.HOME }}' } }
  - { step: 2, title: B, phase: prep, kind: manual }
`);
  expect(p.map((x) => x.message)).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/not a \(transitive\) dependency/),
      expect.stringMatching(/placeholders start with plan\./),
    ]),
  );
});

test('duplicate keys and YAML syntax errors are reported with a line', () => {
  const p = validateRunbookText(HEADER + `  - { step: 1, step: 2 }\n`).problems;
  expect(p[0].line).toBe(10);
});

test('the built-in demo runbook is valid', () => {
  expect(() => loadRunbook('demo', { actionExists: () => true })).not.toThrow();
});

test('durations and offsets', () => {
  expect(parseDuration('1d12h')).toBe(36 * 3600_000);
  expect(parseOffset('T-14d')).toBe(-14 * 86400_000);
  expect(parseOffset('T')).toBe(0);
  expect(parseOffset('T+90m')).toBe(90 * 60_000);
  expect(() => parseOffset('T-soon')).toThrow(/not a duration/);
  expect(() => parseDuration('5 minutes')).toThrow();
  expect(formatOffset(-(13 * 86400_000 + 4 * 3600_000))).toBe('T-13d 4h');
});

test('templates keep types for whole placeholders and refuse undefined paths', () => {
  const scope = { plan: { domains: { migrated: ['contoso.com'] }, id: 'p' } };
  expect(
    renderTemplate(
      { d: '{{ plan.domains.migrated }}', first: '{{plan.domains.migrated.0}}', t: 'for {{ plan.id }}!' },
      scope,
    ),
  ).toEqual({
    d: ['contoso.com'],
    first: 'contoso.com',
    t: 'for p!',
  });
  expect(() => renderTemplate({ x: '{{ plan.nope }}' }, scope)).toThrow(TemplateError);
});

test('forward.steps placeholders are for back-out steps and must name forward steps', () => {
  const p =
    problems(`  - { step: 1, title: A, phase: prep, kind: automated, action: ok.a.b, params: { x: '{{ forward.steps.1.data.y }}' } }
  - { step: 2, title: B, phase: back, kind: automated, action: ok.a.b, params: { x: '{{ forward.steps.1.beforeImage.sha256 }}' } }
  - { step: 3, title: C, phase: back, kind: automated, action: ok.a.b, params: { x: '{{ forward.steps.2.data.y }}' } }
`);
  expect(p.map((x) => `${x.path}: ${x.message}`)).toEqual([
    expect.stringMatching(/^step 1\.params: .*only back-out steps read the forward run's results/),
    expect.stringMatching(/^step 3\.params: .*not in the forward plan/),
  ]);
});
