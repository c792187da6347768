import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDocument, LineCounter } from 'yaml';
import { z } from 'zod';
import { InputError } from './errors';
import { registerSecret } from './secrets';
import { formatZodIssues } from './zod-errors';

/**
 * A secret is never written inline in workflow inputs: the config names where it lives. `value` is
 * accepted for rehearsals (the lab prints throwaway secrets) but is scrubbed from logs like the others.
 */
export const SecretRef = z
  .strictObject({
    env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
      .optional(),
    file: z.string().min(1).optional(),
    value: z.string().min(1).optional(),
  })
  .refine((s) => [s.env, s.file, s.value].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of env, file or value',
  });
export type SecretRef = z.infer<typeof SecretRef>;

const Url = z.url({ message: 'an absolute URL such as https://graph.microsoft.com' });

export const TenantConfig = z.strictObject({
  /** Entra tenant id (GUID) or its initial domain. */
  tenantId: z.string().min(1),
  clientId: z.string().min(1),
  /** Client secret, or a certificate (PEM with private key) for certificate credentials. */
  clientSecret: SecretRef.optional(),
  certificate: z
    .strictObject({
      /** PEM file holding the certificate and its private key. */
      file: z.string().min(1),
      /** Passphrase for an encrypted key. */
      passphrase: SecretRef.optional(),
    })
    .optional(),
  endpoints: z
    .strictObject({
      login: Url.default('https://login.microsoftonline.com'),
      graph: Url.default('https://graph.microsoft.com'),
      exchange: Url.default('https://outlook.office365.com'),
      ews: Url.default('https://outlook.office365.com/EWS/Exchange.asmx'),
    })
    .prefault({}),
  /** Extra CA bundle to trust (the lab's CA for rehearsals). TLS verification is never switched off. */
  caFile: z.string().min(1).optional(),
  exchange: z
    .strictObject({
      backend: z.enum(['rest', 'powershell']).default('rest'),
      /** The tenant's initial domain, as Connect-ExchangeOnline -Organization wants it. */
      organization: z.string().optional(),
      /** pwsh executable for the PowerShell backend. */
      pwsh: z.string().default('pwsh'),
    })
    .prefault({}),
});
export type TenantConfig = z.infer<typeof TenantConfig>;

export const ConfigSchema = z.strictObject({
  temporal: z
    .strictObject({
      address: z
        .string()
        .regex(/^[^\s:]+:\d{1,5}$/, 'host:port, such as 127.0.0.1:7233')
        .default('127.0.0.1:7233'),
      namespace: z.string().min(1).default('default'),
      taskQueue: z.string().min(1).default('t2t'),
      tls: z
        .strictObject({
          enabled: z.boolean().default(false),
          serverName: z.string().optional(),
          caFile: z.string().optional(),
          certFile: z.string().optional(),
          keyFile: z.string().optional(),
        })
        .prefault({}),
      apiKey: SecretRef.optional(),
    })
    .prefault({}),
  dev: z
    .strictObject({
      /** Port of the embedded dev server's frontend; the UI listens on port + 1000. */
      port: z.number().int().min(1).max(65535).default(7233),
      uiPort: z.number().int().min(1).max(65535).optional(),
      dataDir: z.string().default('.t2t'),
      /** Path to the temporal CLI; found in .tools/bin or on PATH when not set. */
      temporalBinary: z.string().optional(),
    })
    .prefault({}),
  artifacts: z.strictObject({ root: z.string().default('.t2t/artifacts') }).prefault({}),
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
      format: z.enum(['json', 'pretty', 'auto']).default('auto'),
    })
    .prefault({}),
  worker: z
    .strictObject({
      maxConcurrentActivities: z.number().int().min(1).max(1000).default(20),
      maxConcurrentWorkflowTasks: z.number().int().min(1).max(1000).default(40),
      /** Pre-built workflow bundle; built on start when absent. */
      workflowBundle: z.string().optional(),
    })
    .prefault({}),
  tenants: z
    .record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'a lowercase name such as source'), TenantConfig)
    .default({}),
});
export type Config = z.infer<typeof ConfigSchema>;

export const DEFAULT_CONFIG_FILE = 't2t.config.yaml';

/**
 * Environment overrides: T2T__SECTION__KEY=value, e.g. T2T__TEMPORAL__ADDRESS=temporal:7233 or
 * T2T__TENANTS__SOURCE__CLIENT_ID=…. Path segments match config keys case-insensitively, with
 * underscores ignored, so CLIENT_ID matches clientId. Values are parsed as JSON when they look like it.
 */
export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): string[] {
  const applied: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('T2T__') || value === undefined) continue;
    const segments = name.slice(5).split('__').filter(Boolean);
    if (segments.length === 0) continue;
    let node: Record<string, unknown> = raw;
    const keyPath: string[] = [];
    segments.forEach((segment, i) => {
      const key = matchKey(node, segment, keyPath);
      keyPath.push(key);
      if (i === segments.length - 1) {
        node[key] = coerceEnvValue(value);
      } else {
        if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
        node = node[key] as Record<string, unknown>;
      }
    });
    applied.push(`${name} -> ${keyPath.join('.')}`);
  }
  return applied;
}

const KNOWN_KEYS = collectKeys(ConfigSchema);

function collectKeys(schema: z.ZodType): string[] {
  const keys = new Set<string>();
  const walk = (s: z.ZodType): void => {
    const def = (s as unknown as { def: Record<string, unknown> }).def;
    if (!def) return;
    if (def.type === 'object') {
      for (const [k, v] of Object.entries(def.shape as Record<string, z.ZodType>)) {
        keys.add(k);
        walk(v);
      }
    } else if (def.innerType) walk(def.innerType as z.ZodType);
    else if (def.in) walk(def.in as z.ZodType);
    else if (def.valueType) walk(def.valueType as z.ZodType);
  };
  walk(schema);
  return [...keys];
}

function normalise(key: string): string {
  return key.replace(/_/g, '').toLowerCase();
}

function matchKey(node: Record<string, unknown>, segment: string, _path: string[]): string {
  const wanted = normalise(segment);
  const existing = Object.keys(node).find((k) => normalise(k) === wanted);
  if (existing) return existing;
  const known = KNOWN_KEYS.find((k) => normalise(k) === wanted);
  // Tenant names are lowercase with hyphens; anything else keeps its env spelling lower-cased.
  return known ?? segment.toLowerCase().replace(/_/g, '-');
}

function coerceEnvValue(value: string): unknown {
  if (/^(true|false|null|-?\d+(\.\d+)?)$/.test(value) || /^[[{]/.test(value)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

export interface LoadedConfig {
  config: Config;
  /** The file the config came from, or undefined when only defaults and environment were used. */
  file?: string;
  envOverrides: string[];
}

/**
 * Loads and validates the config before anything runs. An error names the key, the bad value and the
 * expected form, with the file and line where the YAML has one.
 */
export function loadConfig(
  options: { file?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.file ?? env.T2T_CONFIG;
  const file = explicit ? path.resolve(cwd, explicit) : path.resolve(cwd, DEFAULT_CONFIG_FILE);
  let raw: Record<string, unknown> = {};
  let lineOf: (keyPath: (string | number)[]) => number | undefined = () => undefined;
  let usedFile: string | undefined;
  if (fs.existsSync(file)) {
    usedFile = file;
    const text = fs.readFileSync(file, 'utf8');
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, prettyErrors: true });
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      throw new InputError(
        `${file}:${e.linePos?.[0].line ?? '?'}: invalid YAML: ${e.message.split('\n')[0]}`,
      );
    }
    const value = doc.toJS() ?? {};
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new InputError(`${file}: the config must be a mapping of sections (temporal, tenants, …)`);
    }
    raw = value as Record<string, unknown>;
    lineOf = (keyPath) => {
      const node = doc.getIn(keyPath, true) as { range?: [number, number, number] } | undefined;
      return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
    };
  } else if (explicit) {
    throw new InputError(
      `config file not found: ${file}`,
      'create it from t2t.config.example.yaml or pass --config',
    );
  }
  const envOverrides = applyEnvOverrides(raw, env);
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const where = usedFile ? path.relative(cwd, usedFile) || usedFile : 'config';
    throw new InputError(
      `invalid configuration:\n${formatZodIssues(parsed.error, raw, (p) => {
        const line = lineOf(p);
        return line ? `${where}:${line}` : envOverrides.length ? `${where} or T2T__ environment` : where;
      })}`,
    );
  }
  const config = parsed.data;
  for (const tenant of Object.values(config.tenants)) {
    if (tenant.clientSecret?.value) registerSecret(tenant.clientSecret.value);
  }
  return { config, file: usedFile, envOverrides };
}

/** Resolves a secret reference. Only activities and the worker call this; never workflow code. */
export function resolveSecret(ref: SecretRef, env: NodeJS.ProcessEnv = process.env): string {
  let value: string | undefined;
  if (ref.value !== undefined) value = ref.value;
  else if (ref.env !== undefined) {
    value = env[ref.env];
    if (!value) throw new InputError(`secret environment variable ${ref.env} is not set`);
  } else if (ref.file !== undefined) {
    try {
      value = fs.readFileSync(ref.file, 'utf8').trim();
    } catch {
      throw new InputError(`secret file ${ref.file} cannot be read`);
    }
  }
  if (!value) throw new InputError('secret reference resolves to nothing');
  registerSecret(value);
  return value;
}
