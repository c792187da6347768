import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadPlan, resolveCutover } from './plan';

function planFile(body: string, extra: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-plan-'));
  for (const [name, text] of Object.entries(extra)) fs.writeFileSync(path.join(dir, name), text);
  const file = path.join(dir, 'plan.yaml');
  fs.writeFileSync(file, body);
  return file;
}

const BASE = `apiVersion: t2t/v1
kind: Plan
id: p
title: P
tenants:
  source: { config: source }
  destination: { config: destination }
domains: { migrated: [contoso.com] }
cutover: { at: 2026-03-29T01:30, timeZone: Europe/London }
approvers:
  - { name: Priya, roles: [project-manager] }
`;

test('T in a time zone resolves to UTC across a DST change', () => {
  expect(resolveCutover('2026-03-29T03:30', 'Europe/London')).toBe('2026-03-29T02:30:00.000Z'); // BST
  expect(resolveCutover('2026-01-10T22:00', 'America/New_York')).toBe('2026-01-11T03:00:00.000Z');
  expect(resolveCutover('2026-01-10T22:00:00Z', 'Asia/Tokyo')).toBe('2026-01-10T22:00:00.000Z');
  expect(() => resolveCutover('2026-01-10T22:00', 'Mars/Olympus')).toThrow(/not an IANA time zone/);
});

test('batches are read from CSV, each bad row named by file and line', () => {
  const ok = planFile(BASE + 'scope:\n  batches:\n    - { name: wave1, csv: wave1.csv }\n', {
    'wave1.csv': 'PrimarySmtpAddress\nA@contoso.com\nb@contoso.com\n',
  });
  expect(loadPlan(ok).scope.batches[0].mailboxes).toEqual(['a@contoso.com', 'b@contoso.com']);
  const bad = planFile(BASE + 'scope:\n  batches:\n    - { name: wave1, csv: wave1.csv }\n', {
    'wave1.csv': 'mailbox\nfine@contoso.com\nnot-an-address\n',
  });
  expect(() => loadPlan(bad)).toThrow(/wave1\.csv:3: "not-an-address" is not an email address/);
});

test('plan errors name file:line, key and expected form', () => {
  const file = planFile(BASE.replace('contoso.com]', 'not_a_domain]'));
  expect(() => loadPlan(file)).toThrow(
    /plan\.yaml:8: domains\.migrated\.0: a domain name such as contoso\.com \(found "not_a_domain"\)/,
  );
  const noApprovers = planFile(BASE.replace(/approvers:[\s\S]*$/, 'approvers: []\n'));
  expect(() => loadPlan(noApprovers)).toThrow(/approvers/);
});
