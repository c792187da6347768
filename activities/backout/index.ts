import type { AnyActionDefinition } from '../contract';
import { compareWithBackup, restoreGroupAddresses, restoreMailboxAddresses } from './restore-addresses';

/** Back-out from captured state: address restores (98, 99, 111, 114) and the comparison (113). */
export const backoutActions: AnyActionDefinition[] = [
  restoreMailboxAddresses,
  restoreGroupAddresses,
  compareWithBackup,
];
