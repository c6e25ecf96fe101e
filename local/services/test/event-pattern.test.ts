// EventBridge pattern semantics of the local bus, checked operator by operator.
import { EventPatternError, matchesEventPattern, validateEventPattern } from '../event-pattern.js';

const event = {
  source: 'aims.score',
  'detail-type': 'FraudSuspected',
  account: '111111111111',
  detail: {
    version: 1,
    amount: 250.5,
    country: 'FR',
    tags: ['card', 'online'],
    merchant: { id: 'M-42', category: 'Electronics' },
    ip: '10.0.3.7',
    note: null,
  },
};

const cases: [string, unknown, boolean][] = [
  ['exact string', { source: ['aims.score'] }, true],
  ['exact string miss', { source: ['aims.ingest'] }, false],
  ['number compared numerically', { detail: { amount: [250.5] } }, true],
  ['number is not a string', { detail: { version: ['1'] } }, false],
  ['null', { detail: { note: [null] } }, true],
  ['prefix', { source: [{ prefix: 'aims.' }] }, true],
  ['prefix miss', { source: [{ prefix: 'other.' }] }, false],
  ['prefix ignore case', { detail: { country: [{ prefix: { 'equals-ignore-case': 'f' } }] } }, true],
  ['suffix', { 'detail-type': [{ suffix: 'Suspected' }] }, true],
  ['suffix ignore case', { 'detail-type': [{ suffix: { 'equals-ignore-case': 'SUSPECTED' } }] }, true],
  ['anything-but value', { source: [{ 'anything-but': 'aims.feedback' }] }, true],
  ['anything-but same value', { source: [{ 'anything-but': 'aims.score' }] }, false],
  ['anything-but list', { detail: { country: [{ 'anything-but': ['FR', 'DE'] }] } }, false],
  ['anything-but prefix', { source: [{ 'anything-but': { prefix: 'aims.' } }] }, false],
  ['anything-but suffix', { source: [{ 'anything-but': { suffix: '.ingest' } }] }, true],
  ['anything-but ignore case', { detail: { country: [{ 'anything-but': { 'equals-ignore-case': ['fr'] } }] } }, false],
  ['anything-but on missing field', { detail: { missing: [{ 'anything-but': 'x' }] } }, false],
  ['numeric range', { detail: { amount: [{ numeric: ['>', 100, '<=', 250.5] }] } }, true],
  ['numeric out of range', { detail: { amount: [{ numeric: ['<', 100] }] } }, false],
  ['numeric on a string', { source: [{ numeric: ['>', 0] }] }, false],
  ['exists true', { detail: { merchant: { id: [{ exists: true }] } } }, true],
  ['exists false on present', { detail: { country: [{ exists: false }] } }, false],
  ['exists false on missing', { detail: { absent: [{ exists: false }] } }, true],
  ['exists false under a missing object', { detail: { nothing: { deeper: [{ exists: false }] } } }, true],
  ['equals-ignore-case', { detail: { country: [{ 'equals-ignore-case': 'fr' }] } }, true],
  ['wildcard', { detail: { merchant: { category: [{ wildcard: 'Elec*ics' }] } } }, true],
  ['wildcard miss', { detail: { merchant: { category: [{ wildcard: 'Food*' }] } } }, false],
  ['cidr', { detail: { ip: [{ cidr: '10.0.0.0/16' }] } }, true],
  ['cidr miss', { detail: { ip: [{ cidr: '10.1.0.0/16' }] } }, false],
  ['array field matches any element', { detail: { tags: ['online'] } }, true],
  ['array field none match', { detail: { tags: ['pos'] } }, false],
  ['nested miss', { detail: { merchant: { id: ['M-1'] } } }, false],
  ['$or one branch', { $or: [{ source: ['x'] }, { detail: { country: ['FR'] } }] }, true],
  ['$or no branch', { $or: [{ source: ['x'] }, { detail: { country: ['DE'] } }] }, false],
  ['all fields must match', { source: ['aims.score'], 'detail-type': ['TransactionScored'] }, false],
  ['several matchers are OR-ed', { 'detail-type': ['TransactionScored', 'FraudSuspected'] }, true],
];

describe('matchesEventPattern', () => {
  it.each(cases)('GIVEN %s WHEN matched THEN the result is as EventBridge decides', (_name, pattern, expected) => {
    expect(matchesEventPattern(pattern, event)).toBe(expected);
  });

  it('GIVEN the dev template rule patterns WHEN events arrive THEN only the intended sources match', () => {
    const labelRule = { 'detail-type': ['LabelReported'], source: [{ 'anything-but': 'aims.feedback' }] };
    expect(matchesEventPattern(labelRule, { source: 'bank.chargebacks', 'detail-type': 'LabelReported' })).toBe(true);
    expect(matchesEventPattern(labelRule, { source: 'aims.feedback', 'detail-type': 'LabelReported' })).toBe(false);
  });

  it('GIVEN an unknown operator WHEN validated THEN it fails before any event', () => {
    expect(() => validateEventPattern({ source: [{ regex: '.*' }] })).toThrow(EventPatternError);
    expect(() => validateEventPattern({ source: [{ numeric: ['~', 1] }] })).toThrow(/unknown numeric operator/);
    expect(() => validateEventPattern({ source: 'x' })).toThrow(/list of matchers or an object/);
    expect(() => validateEventPattern({ detail: { a: [{ prefix: 'x' }] }, $or: [{ source: ['y'] }] })).not.toThrow();
  });
});
