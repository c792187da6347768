import { canonicalName, TxtValue, txtText } from './records';
import type { ZoneStore } from './zone-store';

/** What the lab's Graph twin needs from DNS to verify a domain (the `DnsLookup` of the lab). */
export interface TxtLookup {
  /** The TXT strings at `name` (each record's character-strings joined), [] when there are none. */
  txt(name: string): Promise<string[]>;
}

/**
 * Adapts a ZoneStore (or a function giving the current view, such as a lagging secondary's) to the
 * lab's `DnsLookup`, so Graph's domain verify reads the same zones the lab DNS serves. CNAMEs are
 * followed across the store's zones; names outside every zone have no TXT records.
 */
export function zoneStoreLookup(store: ZoneStore | (() => ZoneStore)): TxtLookup {
  const current = (): ZoneStore => (typeof store === 'function' ? store() : store);
  return {
    async txt(name: string): Promise<string[]> {
      const zones = current();
      let n = canonicalName(name);
      for (let hop = 0; hop < 16; hop++) {
        const zone = zones.findZone(n);
        if (zone === undefined) return [];
        const sets = zones.setsAt(zone, n);
        if (!sets) return [];
        const txt = sets.get('TXT');
        if (txt) return (txt.values as TxtValue[]).map(txtText);
        const cname = sets.get('CNAME');
        if (!cname) return [];
        n = canonicalName(cname.values[0] as string);
      }
      return [];
    },
  };
}
