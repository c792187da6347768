import { webhookPayload } from './webhooks';
import type { NotifyEvent } from '../../workflows/types';

const event: NotifyEvent = {
  kind: 'gate-opened',
  runId: 'r1',
  planId: 'p',
  title: 'Approval needed: step 75',
  text: 'Roles: project-manager',
  step: 75,
  webhooks: [],
};

test('Slack gets text (and a section block), Teams a MessageCard, generic the event', () => {
  expect(webhookPayload('slack', event)).toMatchObject({
    text: 'Approval needed: step 75\nRoles: project-manager',
    blocks: [{ type: 'section' }],
  });
  expect(webhookPayload('teams', event)).toMatchObject({
    '@type': 'MessageCard',
    title: 'Approval needed: step 75',
    text: 'Roles: project-manager',
    summary: 'Approval needed: step 75',
  });
  expect(webhookPayload('generic', event)).toMatchObject({ kind: 'gate-opened', runId: 'r1', step: 75 });
  expect(JSON.stringify(webhookPayload('generic', event))).not.toContain('webhooks');
});
