/**
 * Secret values loaded by reference (environment variable, file, or a literal in the config file).
 * Every loaded value is registered here so the logger can scrub it from any line it writes, even one
 * where a secret ended up in an unexpected field (an error message from a library, say).
 */
const knownSecrets = new Set<string>();

export function registerSecret(value: string | undefined): void {
  // Very short values would scrub ordinary words; real secrets are long.
  if (value && value.length >= 6) knownSecrets.add(value);
}

export function scrubSecrets(text: string): string {
  let out = text;
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join('[REDACTED]');
    // JSON-escaped forms (a secret with quotes or backslashes inside a JSON log line).
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret && out.includes(escaped)) out = out.split(escaped).join('[REDACTED]');
  }
  return out;
}

export function knownSecretCount(): number {
  return knownSecrets.size;
}

/** For tests only. */
export function clearSecretsForTest(): void {
  knownSecrets.clear();
}
