/**
 * Periodic work that must not overlap itself: a tick while a pass is running does nothing, and a
 * failed pass (Postgres or Redis away) is reported and left to the next tick.
 */
export class OnePassAtATime {
  private pass?: Promise<void>;

  constructor(
    private readonly work: () => Promise<void>,
    private readonly failed: (e: Error) => void,
  ) {}

  tick(): void {
    if (this.pass) return;
    this.pass = this.work()
      .catch(this.failed)
      .finally(() => (this.pass = undefined));
  }

  /** The pass under way, if any (at shutdown). */
  async settled(): Promise<void> {
    await this.pass;
  }
}
