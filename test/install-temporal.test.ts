import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

test('without Go and without a Temporal binary, the installer says what to install and exits non-zero', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-install-'));
  fs.mkdirSync(path.join(root, 'scripts'));
  fs.copyFileSync(
    path.resolve(__dirname, '..', 'scripts', 'install-temporal.sh'),
    path.join(root, 'scripts', 'install-temporal.sh'),
  );
  const r = spawnSync('bash', [path.join(root, 'scripts', 'install-temporal.sh')], {
    env: { PATH: '/usr/bin:/bin', HOME: root },
    encoding: 'utf8',
  });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/Go is needed to build the Temporal CLI v1\.5\.1/);
  expect(r.stderr).toMatch(/install Go 1\.25 or newer/);
});

test('an installed binary of the right version is reused, not rebuilt', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-install-'));
  fs.mkdirSync(path.join(root, 'scripts'));
  fs.mkdirSync(path.join(root, '.tools', 'bin'), { recursive: true });
  fs.copyFileSync(
    path.resolve(__dirname, '..', 'scripts', 'install-temporal.sh'),
    path.join(root, 'scripts', 'install-temporal.sh'),
  );
  const fake = path.join(root, '.tools', 'bin', 'temporal');
  fs.writeFileSync(fake, '#!/bin/sh\necho "temporal version 0.0.0-DEV (Server 1.29.1, UI 2.42.1)"\n', {
    mode: 0o755,
  });
  const r = spawnSync('bash', [path.join(root, 'scripts', 'install-temporal.sh')], {
    env: { PATH: '/usr/bin:/bin' },
    encoding: 'utf8',
  });
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/already installed/);
});
