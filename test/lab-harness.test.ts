/**
 * The action harness wires the production connectors to the lab: Graph through msal-node and
 * microsoft-graph-client, Exchange through the REST backend or the PowerShell backend (node-powershell
 * driving the pwsh test double). Both Exchange backends see the same tenant.
 */
import { startActionHarness, type ActionHarness } from './helpers/lab-actions';
import type { GraphConnector } from '../activities/graph/connector';
import type { ExchangeClient } from '../activities/exchange';

describe.each(['rest', 'powershell'] as const)(
  'connectors against the lab (%s Exchange backend)',
  (backend) => {
    let h: ActionHarness;
    beforeAll(async () => {
      h = await startActionHarness({ users: 30, destinationUsers: 5, exchangeBackend: backend });
    }, 60_000);
    afterAll(async () => h?.stop());

    test('Graph pages through every user; Exchange reads the same mailboxes', async () => {
      const graph = await h.connectors.get<GraphConnector>('graph', 'source');
      const users = await graph.getAll<{ id: string; userPrincipalName: string }>(
        '/users?$select=id,userPrincipalName&$top=7',
      );
      expect(users.length).toBeGreaterThanOrEqual(30);
      const exchange = await h.connectors.get<ExchangeClient>('exchange', 'source');
      expect(exchange.backend).toBe(backend);
      const mailboxes = await exchange.invoke<{ ExternalDirectoryObjectId: string }>({
        cmdlet: 'Get-Mailbox',
        parameters: { ResultSize: 'Unlimited' },
      });
      expect(mailboxes.length).toBeGreaterThan(0);
      const ids = new Set(users.map((u) => u.id));
      expect(mailboxes.every((m) => ids.has(m.ExternalDirectoryObjectId))).toBe(true);
    }, 60_000);
  },
);
