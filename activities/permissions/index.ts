import type { AnyActionDefinition } from '../contract';
import { permissionActions } from './full-access';

/** Mailbox permission actions (issue 5): FullAccess for the migration identity, its check and removal. */
export const permissionsActions: AnyActionDefinition[] = [...permissionActions];

export * from './full-access';
