// One base for Baton's faults: a string `code` a program can branch on, a message a person can act
// on (what was received, what was expected), and the `cause`. Expected outcomes (an invalid event,
// a suppressed candidate, a rejected rule) are returned as data, never thrown.

export class BatonError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
