import type { Client } from '@temporalio/client';
import type { CommandIO } from '../framework';
import { connectClient } from '../../common/temporal-connection';

/** Connects to Temporal for a command and closes the connection afterwards. */
export async function withClient<T>(io: CommandIO, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient(io.config().config);
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}
