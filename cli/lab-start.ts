import { z } from 'zod';
import type { CommandSpec } from './framework';
import { runLabStartCommand } from '../lab';
import { startLabDns } from '../lab/dns';

const schema = z.strictObject({
  users: z.coerce.number().int().min(0).max(200_000).default(100),
  destinationUsers: z.coerce.number().int().min(0).max(200_000).optional(),
  seed: z.string().min(1).default('t2t'),
  port: z.coerce.number().int().min(0).max(65535).default(0),
  dataDir: z.string().min(1).default('.t2t/lab'),
  stateFile: z.string().optional(),
  dns: z.boolean().default(true),
  json: z.boolean().default(false),
});

/**
 * `t2t lab start`: the Microsoft 365 twin (Entra, Graph, Exchange, DNS) on loopback, for tests and
 * for rehearsing a migration against a copy of your tenants. With --json it prints exactly one JSON
 * line once ready, then serves until SIGTERM.
 */
const command: CommandSpec<z.infer<typeof schema>> = {
  name: 'lab start',
  description: 'Start the lab: a twin of two Microsoft 365 tenants (Entra, Graph, Exchange, DNS) on loopback',
  options: [
    { flags: '--users <n>', description: 'source tenant size', default: '100' },
    { flags: '--destination-users <n>', description: 'destination tenant size' },
    { flags: '--seed <seed>', description: 'fixture seed (same seed, same tenant)', default: 't2t' },
    { flags: '--port <port>', description: 'HTTPS port on 127.0.0.1 (0: any free port)', default: '0' },
    { flags: '--data-dir <dir>', description: 'CA, keys and certificates', default: '.t2t/lab' },
    { flags: '--state-file <file>', description: 'load and save the lab state here (resume a rehearsal)' },
    { flags: '--no-dns', description: 'no lab DNS server' },
    { flags: '--json', description: 'print one JSON line once ready (for scripts)' },
  ],
  schema,
  examples: ['t2t lab start --users 500 --seed contoso --json'],
  async action(o, io) {
    const dns = o.dns ? await startLabDns({ host: '127.0.0.1', port: 0 }) : undefined;
    try {
      await runLabStartCommand(
        {
          users: o.users,
          destinationUsers: o.destinationUsers,
          seed: o.seed,
          port: o.port,
          dataDir: o.dataDir,
          stateFile: o.stateFile,
          json: o.json,
          // One DNS: the admin API, domain verification and mail routing use the server's zones.
          dnsZones: dns?.store,
          dnsServer: dns ? { host: dns.host, port: dns.port } : null,
        },
        (line) => io.out.line(line),
        io.signal,
      );
    } finally {
      await dns?.stop();
    }
  },
};
export default command;
