import type { AnyActionDefinition } from '../contract';
import { allowLists, restoreAllowLists } from './allow-lists';

/** Mail-flow protection settings in the destination (step 52, seed step 77) and their restore. */
export const mailflowActions: AnyActionDefinition[] = [allowLists, restoreAllowLists];
