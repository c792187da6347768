import type { AnyActionDefinition } from '../contract';
import { backoutActions } from '../backout';
import { domainActions } from '../domains';
import { mailflowActions } from '../mailflow';
import { addGroupAliases, addMailboxAliases } from './aliases';
import { removeContacts, restoreContacts } from './contacts';
import { restoreDisplayName } from './display-name';
import { removeForwarding, restoreForwarding } from './forwarding';
import { setGroupPrimaryAddress, setMailboxPrimaryAddress } from './primary';
import { stripGroupAliases, stripMailboxAliases } from './strip';

/** Exchange address, contact and forwarding actions (steps 69–91 and their back-out). */
export const exchangeAddressActions: AnyActionDefinition[] = [
  setGroupPrimaryAddress,
  setMailboxPrimaryAddress,
  stripMailboxAliases,
  stripGroupAliases,
  addMailboxAliases,
  addGroupAliases,
  restoreDisplayName,
  removeForwarding,
  restoreForwarding,
  removeContacts,
  restoreContacts,
];

/**
 * Every action of the address, domain, mail-flow and back-out modules — registered with one line in
 * activities/registry.ts.
 */
export const addressActions: AnyActionDefinition[] = [
  ...exchangeAddressActions,
  ...domainActions,
  ...mailflowActions,
  ...backoutActions,
];
