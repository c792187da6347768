import type { AnyActionDefinition } from './contract';
import { engineActions } from './engine/actions';
import { demoActions } from './demo/actions';
import { entraActions } from './entra/credentials';
import { dnsActions } from './dns';
import { addressActions } from './addresses';
import { mailActions } from './mail';
import { directoryActions } from './directory';

/**
 * Every runbook action by its stable name. A runbook step's `action:` must be a key here; `t2t
 * actions list` prints this registry.
 */
const all: AnyActionDefinition[] = [
  ...engineActions,
  ...demoActions,
  ...entraActions,
  ...dnsActions,
  ...mailActions,
  ...addressActions,
  ...directoryActions,
];

export const ACTIONS: ReadonlyMap<string, AnyActionDefinition> = (() => {
  const map = new Map<string, AnyActionDefinition>();
  for (const a of all) {
    if (map.has(a.name)) throw new Error(`action ${a.name} is registered twice`);
    map.set(a.name, a);
  }
  return map;
})();

export function actionExists(name: string): boolean {
  return ACTIONS.has(name);
}

export function listActions(): { name: string; description: string; steps: number[]; mutates: boolean }[] {
  return [...ACTIONS.values()]
    .map((a) => ({ name: a.name, description: a.description, steps: a.steps, mutates: a.mutates }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
