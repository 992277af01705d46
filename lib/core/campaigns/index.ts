// The contact policy domain: pure, no I/O.
export * from './policy.ts';
export * from './quiet-hours.ts';
export * from './history.ts';
