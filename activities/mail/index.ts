import type { AnyActionDefinition } from '../contract';
import { mailProbe } from './probe';

/** Mail actions: the end-user test plan (step 94). */
export const mailActions: AnyActionDefinition[] = [mailProbe];

export { createMailProbeAction, MailProbeInput } from './probe';
export type { MailProbeData, ProbeCheck, ProbeCheckId, MailProbeDeps } from './probe';
