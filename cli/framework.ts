import { Command, Option } from 'commander';
import { z } from 'zod';
import { loadConfig, type LoadedConfig } from '../common/config';
import { createLogger, type Logger } from '../common/logger';
import { InputError, T2tError } from '../common/errors';
import { StreamOutput, type Output, type OutputFormat } from './output';

/**
 * One command = one file exporting a CommandSpec. The framework turns it into a commander command,
 * validates arguments and options with the spec's zod schema (so bad input is refused before anything
 * runs, naming the option), and turns thrown errors into one clean message and an exit code.
 */
export interface CommandSpec<O> {
  /** Words after `t2t`, e.g. `run start`. */
  name: string;
  description: string;
  /** Positional arguments, in order; they become properties of the options object. */
  args?: { name: string; description: string; optional?: boolean; variadic?: boolean }[];
  /** Flags. `key` is the property name in the parsed object. */
  options?: { flags: string; key?: string; description: string; default?: unknown; choices?: string[] }[];
  /** Whether the command prints data and so takes --output json|text|csv. */
  output?: boolean;
  /** Validates the merged positional arguments and options. */
  schema: z.ZodType<O>;
  /** Examples shown in --help. */
  examples?: string[];
  action(options: O, io: CommandIO): Promise<number | void>;
}

export interface CommandIO {
  out: Output;
  /** Logger for diagnostics (stderr). */
  log: Logger;
  /** Loads and validates the config (lazily, so commands that need none do not fail on it). */
  config(): LoadedConfig;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

export const EXIT = { ok: 0, failure: 1, usage: 2, environment: 3, refused: 4 } as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommandSpec = CommandSpec<any>;

export interface GlobalOptions {
  config?: string;
  output?: OutputFormat;
  logLevel?: string;
}

export function buildProgram(
  specs: AnyCommandSpec[],
  streams = { stdout: process.stdout, stderr: process.stderr },
): {
  program: Command;
  exitCode: () => number;
} {
  let exitCode = 0;
  const program = new Command('t2t')
    .description('Microsoft 365 tenant-to-tenant migration runbooks as durable Temporal workflows')
    .option('-c, --config <file>', 'config file (default t2t.config.yaml, or $T2T_CONFIG)')
    .option('--log-level <level>', 'trace|debug|info|warn|error|silent')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => streams.stdout.write(s),
      writeErr: (s) => streams.stderr.write(s),
    })
    .exitOverride();

  const groups = new Map<string, Command>();
  for (const spec of specs) {
    const words = spec.name.split(' ');
    let parent = program;
    for (const word of words.slice(0, -1)) {
      const key = `${parent.name()}/${word}`;
      let group = groups.get(key);
      if (!group) {
        group = parent.command(word).description(`${word} commands`).exitOverride();
        groups.set(key, group);
      }
      parent = group;
    }
    const cmd = parent
      .command(words[words.length - 1])
      .description(spec.description)
      .exitOverride();
    for (const a of spec.args ?? []) {
      const label = a.variadic ? `${a.name}...` : a.name;
      cmd.argument(a.optional ? `[${label}]` : `<${label}>`, a.description);
    }
    for (const o of spec.options ?? []) {
      const opt = new Option(o.flags, o.description);
      if (o.default !== undefined) opt.default(o.default);
      if (o.choices) opt.choices(o.choices);
      cmd.addOption(opt);
    }
    if (spec.output) {
      cmd.addOption(
        new Option('-o, --output <format>', 'output format').choices(['json', 'text', 'csv']).default('text'),
      );
    }
    if (spec.examples?.length)
      cmd.addHelpText('after', `\nExamples:\n${spec.examples.map((e) => `  $ ${e}`).join('\n')}\n`);
    cmd.action(async (...received: unknown[]) => {
      const command = received[received.length - 1] as Command;
      const opts = command.opts() as Record<string, unknown>;
      const globals = program.opts() as GlobalOptions;
      const merged: Record<string, unknown> = { ...opts };
      (spec.args ?? []).forEach((a, i) => {
        if (received[i] !== undefined) merged[a.name] = received[i];
      });
      for (const o of spec.options ?? []) {
        if (o.key && o.key in merged === false) {
          const camel = o.flags
            .match(/--([a-z0-9-]+)/)?.[1]
            ?.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
          if (camel && camel in merged) merged[o.key] = merged[camel];
        }
      }
      const format = (opts.output as OutputFormat | undefined) ?? 'text';
      const out = new StreamOutput(format, streams.stdout, streams.stderr);
      const controller = new AbortController();
      const onSignal = (): void => controller.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let loaded: LoadedConfig | undefined;
      const log = createLogger({
        level: globals.logLevel ?? process.env.T2T_LOG_LEVEL ?? 'warn',
        destination: streams.stderr,
      });
      const io: CommandIO = {
        out,
        log,
        signal: controller.signal,
        config: () => (loaded ??= loadConfig({ file: globals.config })),
      };
      try {
        const parsed = spec.schema.safeParse(merged);
        if (!parsed.success) {
          throw new InputError(
            `t2t ${spec.name}: invalid arguments:\n` +
              parsed.error.issues
                .map(
                  (i) =>
                    `  ${
                      i.path.length
                        ? '--' +
                          i.path
                            .join('.')
                            .replace(/([A-Z])/g, '-$1')
                            .toLowerCase()
                        : 'arguments'
                    }: ${i.message}`,
                )
                .join('\n'),
          );
        }
        const code = await spec.action(parsed.data, io);
        exitCode = typeof code === 'number' ? code : 0;
      } catch (err) {
        exitCode = reportError(err, out);
      } finally {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
      }
    });
  }
  return { program, exitCode: () => exitCode };
}

export function reportError(err: unknown, out: Output): number {
  if (err instanceof T2tError) {
    out.note(`error: ${err.message}`);
    if (err.hint) out.note(`hint: ${err.hint}`);
    return err.exitCode;
  }
  const e = err as { message?: string; name?: string; details?: string };
  out.note(`error: ${e?.message ?? String(err)}`);
  if (process.env.T2T_DEBUG) out.note(String((err as Error)?.stack ?? ''));
  return EXIT.failure;
}

/** Positive integer from a CLI string. */
export const cliInt = (what: string) =>
  z.coerce
    .number({ message: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .positive(`${what} must be positive`);
