import type { AnyActionDefinition } from '../contract';
import { exportsActions } from '../exports';
import { permissionsActions } from '../permissions';
import { checkAddresses } from './check-addresses';
import { initialAddressActions } from './initial-address';
import { licenseActions } from './licenses';
import { tenantSettingActions } from './tenant-settings';
import { upnActions } from './upn';

/**
 * Directory actions (issue 5): UPN rewrite and restore, licence plans, federation, directory sync,
 * default domain, and the initial-domain address with its check.
 */
export const directoryOnlyActions: AnyActionDefinition[] = [
  ...upnActions,
  ...licenseActions,
  ...tenantSettingActions,
  ...initialAddressActions,
  checkAddresses,
];

/**
 * Everything of the directory, exports and permissions modules — registered with one line in
 * activities/registry.ts.
 */
export const directoryActions: AnyActionDefinition[] = [
  ...directoryOnlyActions,
  ...exportsActions,
  ...permissionsActions,
];

export * from './upn';
export * from './licenses';
export * from './tenant-settings';
export * from './initial-address';
export * from './check-addresses';
export { planArtifactName, findLatestArtifact } from './common';
