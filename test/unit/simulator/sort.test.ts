import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sortByMicros } from '../../../src/simulator/sort';

describe('simulator: timestamp sort', () => {
  it('matches a plain comparator sort (ties by id), both directions', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ id: fc.string({ minLength: 1, maxLength: 4 }), t: fc.integer({ min: 1_600_000_000_000_000, max: 1_600_000_010_000_000 }) }), { selector: (r) => r.id, maxLength: 200 }),
        (items) => {
          const expected = [...items].sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
          assert.deepEqual(sortByMicros(items, (r) => r.t, 1), expected);
          assert.deepEqual(sortByMicros(items, (r) => r.t, -1), [...expected].reverse());
        },
      ),
    );
  });
});
