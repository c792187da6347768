import { Writable } from 'node:stream';
import { createLogger } from './logger';
import { registerSecret } from './secrets';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) });
  return { log: createLogger({ level: 'trace', format: 'json', destination }), lines };
}

test('known secret fields are redacted', () => {
  const { log, lines } = capture();
  log.info(
    {
      tenant: { clientSecret: { value: 'abc-def-ghi' }, clientId: 'x' },
      headers: { authorization: 'Bearer eyJ' },
    },
    'x',
  );
  expect(lines.join('')).not.toContain('abc-def-ghi');
  expect(lines.join('')).not.toContain('Bearer eyJ');
  expect(lines.join('')).toContain('[REDACTED]');
});

test('a registered secret is scrubbed wherever it appears, even inside a message', () => {
  const secret = 'p@ss"w0rd-with-quote';
  registerSecret(secret);
  const { log, lines } = capture();
  log.error(
    { err: `AADSTS7000215: Invalid client secret provided: ${secret}` },
    `login failed with ${secret}`,
  );
  const out = lines.join('');
  expect(out).not.toContain(secret);
  expect(out).not.toContain(JSON.stringify(secret).slice(1, -1));
  expect(out).toContain('AADSTS7000215');
});

test('pretty format is readable text', () => {
  const lines: string[] = [];
  const destination = new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) });
  createLogger({ format: 'pretty', destination }).info('hello there');
  expect(lines.join('')).toMatch(/INFO.*hello there/);
});
