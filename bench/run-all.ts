/**
 * `make bench`: runs every benchmark in its own process and prints one JSON line per figure.
 * BENCHMARKS.md records the figures and the command that produced each.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const benches = fs
  .readdirSync(__dirname)
  .filter((f) => f.endsWith('.bench.js'))
  .sort();
let failed = 0;
for (const file of benches) {
  process.stderr.write(`▶ ${file}\n`);
  const r = spawnSync(process.execPath, [path.join(__dirname, file), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  if (r.status !== 0) failed += 1;
}
process.exit(failed ? 1 : 0);
