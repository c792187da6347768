/**
 * The lab's clock. Every time the lab reasons about (token lifetimes, replication delays, throttling
 * windows, eventual consistency) comes from here, so tests can move time forward instead of sleeping.
 */
export class LabClock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  nowIso(): string {
    return new Date(this.now()).toISOString();
  }

  /** Moves lab time forward (never backward). */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError('clock can only move forward by a finite number of milliseconds');
    this.offsetMs += ms;
  }

  get offset(): number {
    return this.offsetMs;
  }
}
