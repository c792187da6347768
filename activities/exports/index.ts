import type { AnyActionDefinition } from '../contract';
import { directoryBackup } from './directory';
import { exchangeExportActions } from './exchange';

/**
 * Exports and backups (issue 5, steps 12–14 and 49–54): read-only, JSON plus CSV, keyed by object id;
 * each returns its artifacts and `data.backup` (the JSON artifact) for later steps.
 */
export const exportsActions: AnyActionDefinition[] = [directoryBackup, ...exchangeExportActions];

export * from './kinds';
export { directoryBackup } from './directory';
export * from './exchange';
export { writeExport, toCsv, csvCell } from './write';
