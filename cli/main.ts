import { CommanderError } from 'commander';
import { buildProgram } from './framework';
import { COMMANDS } from './commands';

/** Entry point of `t2t`: parses, runs one command, exits with its code. */
export async function main(argv: string[]): Promise<number> {
  const { program, exitCode } = buildProgram(COMMANDS);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode();
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; usage errors 2.
      return err.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`error: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
