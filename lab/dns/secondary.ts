import type { Logger } from 'pino';
import { serialGreater, ZoneStore } from './zone-store';

export interface SecondaryOptions {
  /**
   * Seconds between refresh checks. Default: each zone's SOA refresh value (as a real secondary).
   * Short values make a test fast; a large one makes the secondary lag until `refresh()`.
   */
  refreshSeconds?: number;
  /** Milliseconds since the epoch; inject a fake clock to drive refreshes from a test. Default Date.now. */
  clock?: () => number;
  logger?: Logger;
}

/**
 * The data of a lagging secondary nameserver: a copy of the primary's zones as of the last refresh.
 * Like a real secondary it checks the primary's SOA serial when the refresh interval has elapsed
 * (lazily, when it is queried) and transfers the zone only when the serial rose. `refresh()` forces a
 * check now (a NOTIFY); `pause()` stops automatic refreshes (a broken transfer path).
 */
export class LaggingSecondary {
  private readonly data = new ZoneStore();
  private readonly lastCheck = new Map<string, number>();
  private paused = false;
  private readonly clock: () => number;
  /** Zones deleted (and maybe re-created) on the primary: transferred at the next check whatever the serial. */
  private readonly forced = new Set<string>();

  constructor(
    private readonly primary: ZoneStore,
    private readonly options: SecondaryOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    primary.onChange((change) => {
      if (change.action === 'delete-zone') this.forced.add(change.zone);
    });
    this.refresh();
  }

  /** The zones as this secondary serves them now (after any refresh that is due). */
  view(): ZoneStore {
    if (!this.paused) this.refreshDue();
    return this.data;
  }

  /** Checks every zone against the primary now and transfers those whose serial rose. Returns the zones transferred. */
  refresh(): string[] {
    const now = this.clock();
    const transferred: string[] = [];
    for (const origin of this.primary.zones()) {
      if (this.check(origin, now)) transferred.push(origin);
    }
    for (const origin of this.data.zones()) {
      if (!this.primary.hasZone(origin)) {
        this.data.deleteZone(origin);
        this.lastCheck.delete(origin);
      }
    }
    return transferred;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** The serial this secondary serves for a zone, or undefined if it has not loaded it. */
  serial(origin: string): number | undefined {
    return this.data.hasZone(origin) ? this.data.serial(origin) : undefined;
  }

  /** When this secondary will next check a zone (ms since the epoch). */
  nextCheckAt(origin: string): number | undefined {
    const last = this.lastCheck.get(origin);
    return last === undefined ? undefined : last + this.intervalMs(origin);
  }

  private refreshDue(): void {
    const now = this.clock();
    for (const origin of this.primary.zones()) {
      const last = this.lastCheck.get(origin);
      // A zone newly configured on the primary is loaded at once; a known one at its refresh interval.
      if (last === undefined || now - last >= this.intervalMs(origin)) this.check(origin, now);
    }
    for (const origin of this.data.zones()) {
      const last = this.lastCheck.get(origin) ?? 0;
      if (!this.primary.hasZone(origin) && now - last >= this.intervalMs(origin)) {
        this.data.deleteZone(origin);
        this.lastCheck.delete(origin);
      }
    }
  }

  private intervalMs(origin: string): number {
    if (this.options.refreshSeconds !== undefined) return this.options.refreshSeconds * 1000;
    return (this.data.hasZone(origin) ? this.data.soa(origin).refresh : 3600) * 1000;
  }

  private check(origin: string, now: number): boolean {
    this.lastCheck.set(origin, now);
    const primarySerial = this.primary.serial(origin);
    const have = this.serial(origin);
    if (have !== undefined && !this.forced.has(origin) && !serialGreater(primarySerial, have)) return false;
    this.forced.delete(origin);
    this.data.importZone(this.primary.exportZone(origin));
    this.options.logger?.debug(
      { zone: origin, from: have, to: primarySerial },
      'lab dns secondary transferred zone',
    );
    return true;
  }
}
