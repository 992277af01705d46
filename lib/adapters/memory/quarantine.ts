import type { QuarantineStore, QuarantinedEvent } from '../../app/ports.ts';

export class MemoryQuarantine implements QuarantineStore {
  readonly entries: QuarantinedEvent[] = [];
  async put(entry: QuarantinedEvent): Promise<void> {
    this.entries.push(entry);
  }
  async withdraw(entry: QuarantinedEvent): Promise<void> {
    const at = this.entries.findIndex((e) => e.quarantineId === entry.quarantineId);
    if (at >= 0) this.entries.splice(at, 1);
  }
}
