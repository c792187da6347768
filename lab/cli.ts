import { startLab, type LabHandle, type StartLabOptions } from './lab';

export interface LabStartCommandOptions extends StartLabOptions {
  /** Print exactly one JSON line (the lab info) once ready, instead of a human summary. */
  json?: boolean;
}

/**
 * `t2t lab start [--users N] [--seed S] [--json]`: starts the lab, reports where it is, serves until `signal`
 * aborts (SIGTERM/SIGINT wired by the caller), then stops it (saving the state file when one is set).
 */
export async function runLabStartCommand(
  opts: LabStartCommandOptions,
  write: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const { json, ...labOptions } = opts;
  const lab = await startLab(labOptions);
  try {
    if (json) write(JSON.stringify(lab.info));
    else for (const line of humanSummary(lab)) write(line);
    if (!signal.aborted) {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    }
  } finally {
    await lab.stop();
  }
}

export function humanSummary(lab: LabHandle): string[] {
  const i = lab.info;
  const lines = [
    't2t lab is running (Microsoft 365 twin; no real tenant is contacted).',
    `  login     ${i.loginUrl}/{tenant}`,
    `  graph     ${i.graphUrl}/v1.0`,
    `  exchange  ${i.exchangeUrl}/adminapi/beta/{tenant}/InvokeCommand`,
    `  admin     ${i.adminUrl}  (Authorization: Bearer ${i.adminToken})`,
    `  CA file   ${i.caFile}  (trust it; never switch TLS verification off)`,
  ];
  if (i.dns) lines.push(`  dns       ${i.dns.host}:${i.dns.port}`);
  for (const t of i.tenants) {
    const creds = lab.credentials(t.name);
    lines.push(
      `  tenant ${t.name}: ${t.tenantId} (${t.initialDomain}; domains ${t.domains.join(', ')})`,
      `    clientId ${t.clientId}  secret ${t.clientSecret}`,
      `    certificate ${creds.certificate.file} (thumbprint ${creds.certificate.thumbprintSha1})`,
    );
  }
  if (lab.fixtures) {
    const f = lab.fixtures;
    lines.push(
      `  source fixtures: ${f.users} users (${f.userMailboxes} user, ${f.sharedMailboxes} shared, ${f.roomMailboxes} room, ${f.equipmentMailboxes} equipment mailboxes; ${f.guests} guests; ${f.unlicensedWithAliases} unlicensed with aliases; ${f.synced} synced), ${Object.values(f.groups).reduce((a, b) => a + b, 0)} groups, ${f.dynamicDistributionGroups} dynamic DLs, ${f.contacts} contacts`,
    );
  }
  lines.push('Press Ctrl+C to stop.');
  return lines;
}
