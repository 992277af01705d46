/**
 * Amazon EventBridge event-pattern matcher, written for Baton.
 *
 * Semantics follow EventBridge's documented behaviour and, where the docs are
 * silent, AWS's reference implementation (github.com/aws/event-ruler). The
 * notable points (each is covered by test/unit/event-pattern.cases.ts):
 *
 * - Leaves are arrays of alternatives (OR); fields of an object are ANDed.
 * - Only scalar leaves count as "present": a field whose value is an object,
 *   `{}` or `[]` does not exist for `exists`, and fails every value test.
 * - Arrays in the document are transparent: a leaf matches if any element
 *   matches, and every condition under one array of objects must be satisfied
 *   by the SAME element (event-ruler's "array consistency").
 * - Strings, numbers, booleans and null never equal one another; numbers are
 *   compared as IEEE doubles, so 300, 300.0 and 3.0e2 are the same value.
 * - An exact string that is an IP address literal matches the same address
 *   however it is written (event-ruler turns such values into IP ranges).
 * - `anything-but` needs the field to be present; a non-string value passes
 *   any string-flavoured anything-but, a non-number passes a numeric one.
 * - `$or` is expanded into independent branches (like event-ruler); a field
 *   written after a `$or` is added to (and overrides in) every branch.
 *
 * Known deliberate differences from event-ruler are listed in docs/rules.md.
 *
 * The files, one job each: parse.ts (validation into branches), ip.ts (addresses),
 * predicates.ts (string and number tests), leaf.ts (one field's alternatives),
 * tree.ts (one pattern: compilePattern), field-index.ts (the distinct conditions on one path, for
 * many patterns) and set.ts (PatternSet: many patterns matched at once).
 */
export { InvalidPatternError, PATTERN_LIMITS } from './parse.ts';
export { compilePattern, indexKeys, matches, validate, type CompiledPattern } from './tree.ts';
export { PatternSet, InvalidEventTextError, parseEvent, type PatternSetStats } from './set.ts';
