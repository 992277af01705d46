import type { QuarantineStore, QuarantinedEvent } from '../../app/ports.ts';

export class MemoryQuarantine implements QuarantineStore {
  readonly entries: QuarantinedEvent[] = [];
  async put(entry: QuarantinedEvent): Promise<void> {
    this.entries.push(entry);
  }
}
