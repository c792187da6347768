import * as path from 'node:path';
import { loadConfig } from './config';

test('the example config in the repository validates', () => {
  const { config } = loadConfig({ file: path.resolve(__dirname, '..', 't2t.config.example.yaml'), env: {} });
  expect(config.tenants.source.clientSecret).toEqual({ env: 'T2T_SOURCE_CLIENT_SECRET' });
  expect(config.tenants.destination.exchange.backend).toBe('powershell');
});
