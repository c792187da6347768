import type { NotifyEvent } from '../../workflows/types';

/**
 * One JSON payload per webhook format. Teams incoming webhooks accept a MessageCard (`text`, `title`);
 * Slack incoming webhooks accept `text` (plus blocks). Generic receivers get the whole event.
 */
export function webhookPayload(format: 'teams' | 'slack' | 'generic', event: NotifyEvent): unknown {
  const text = `${event.title}\n${event.text}`;
  if (format === 'slack') {
    return {
      text,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `*${event.title}*\n${event.text}` } }],
    };
  }
  if (format === 'teams') {
    return {
      '@type': 'MessageCard',
      '@context': 'https://schema.org/extensions',
      summary: event.title,
      title: event.title,
      text: event.text,
      themeColor: event.kind === 'step-failed' || event.kind === 'run-aborted' ? 'D13438' : '0078D7',
    };
  }
  return { ...event, webhooks: undefined, text };
}

export async function postWebhook(
  hook: { url: string; format: 'teams' | 'slack' | 'generic' },
  event: NotifyEvent,
  fetchFn: typeof fetch,
): Promise<void> {
  const res = await fetchFn(hook.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(webhookPayload(hook.format, event)),
    signal: AbortSignal.timeout(10000),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}
