import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyChanges, computeDiff, writesOf, type AssetValues } from '../../../src/core/update/diff';
import { catalogOf, OPERATIONS, type Change } from '../../../src/core/update/mapping';
import { prepareAll } from '../../../src/core/update/apply';
import { splitKeywords } from '../../../src/core/asset';

const cat = catalogOf([], { Campaign: { id: 'F0000CAMPAIGN000', type: 'text' }, Region: { id: 'F0000REGION00000', type: 'select' } });

// text with the characters that matter: spaces, line ends, commas, combining marks, emoji, case
const piece = fc.constantFrom('a', 'A', 'b', ' ', '  ', '\r\n', '\n', ',', 'é', 'e\u0301', 'É', '🌸', '東', 'ß', '-', 'x y');
const text = fc.array(piece, { maxLength: 8 }).map((p) => p.join(''));
const keywordList = fc.oneof(fc.array(text, { maxLength: 8 }), fc.array(fc.constantFrom('k1', 'K1', 'k2', 'x', 'é', 'e\u0301'), { maxLength: 3000 }));

const assetArb = fc.record({
  title: fc.option(text),
  caption: fc.option(text),
  keywords: keywordList,
  campaign: fc.option(text),
  region: fc.option(fc.constantFrom('EMEA', 'APAC')),
});
type A = { title: string | null; caption: string | null; keywords: string[]; campaign: string | null; region: string | null };
const toAsset = (a: A): AssetValues => ({
  iptc: { keywords: splitKeywords(a.keywords), title: a.title, caption: a.caption } as AssetValues['iptc'],
  custom: { Campaign: a.campaign, Region: a.region },
});

const op = fc.constantFrom(...OPERATIONS);
const textChange = (target: string) => fc.record({ target: fc.constant(target), op, value: fc.option(text, { nil: undefined }) });
const keywordChange = fc.record({ target: fc.constant('keywords'), op, value: fc.oneof(text, fc.array(text, { maxLength: 6 }), fc.constant(null)) });
const selectChange = fc.record({ target: fc.constant('Region'), op: fc.constantFrom('set' as const, 'clear' as const), value: fc.constantFrom('emea', 'APAC', 'LATAM', '') });

/** One row per text field (several append/remove rows on one text field may undo each other). */
const mapping: fc.Arbitrary<Change[]> = fc.tuple(
  fc.option(textChange('title'), { nil: undefined }),
  fc.option(textChange('caption'), { nil: undefined }),
  fc.option(textChange('Campaign'), { nil: undefined }),
  fc.array(keywordChange, { maxLength: 4 }),
  fc.option(selectChange, { nil: undefined }),
).map(([t, c, cm, kws, s]) => [t, c, cm, ...kws, s].filter((x) => x !== undefined) as Change[]);

/** What the API does with a write: keywords travel as one comma-separated string and come back split. */
function roundTrip(asset: AssetValues, changes: ReturnType<typeof computeDiff>): AssetValues {
  const after = applyChanges(asset, changes);
  const kw = writesOf(changes).iptc?.keywords;
  if (kw !== undefined && after.iptc) after.iptc.keywords = splitKeywords(kw);
  return after;
}

describe('update: diff properties', () => {
  it('applying a computed diff, then diffing again, gives an empty diff', () => {
    fc.assert(
      fc.property(assetArb, mapping, (a, changes) => {
        const asset = toAsset(a);
        const prepared = prepareAll(changes, cat);
        const diff = computeDiff(asset, prepared);
        assert.deepEqual(computeDiff(roundTrip(asset, diff), prepared), []);
      }),
      { numRuns: 300 },
    );
  });

  it('applying the same mapping twice changes nothing the second time', () => {
    fc.assert(
      fc.property(assetArb, mapping, (a, changes) => {
        const prepared = prepareAll(changes, cat);
        const once = roundTrip(toAsset(a), computeDiff(toAsset(a), prepared));
        assert.deepEqual(computeDiff(once, prepared), []);
      }),
      { numRuns: 300 },
    );
  });

  it('never reports a field whose value does not change, and reports every field that does', () => {
    fc.assert(
      fc.property(assetArb, mapping, (a, changes) => {
        const asset = toAsset(a);
        const diff = computeDiff(asset, prepareAll(changes, cat));
        for (const c of diff) assert.notDeepEqual(c.before, c.after);
        const touched = new Set(diff.map((c) => c.key));
        assert.ok(touched.size === diff.length, 'one entry per field');
      }),
      { numRuns: 200 },
    );
  });

  it('keyword lists come out trimmed, without empty items or commas, and without duplicates they did not have', () => {
    fc.assert(
      fc.property(keywordList, fc.array(keywordChange, { minLength: 1, maxLength: 4 }), (kws, changes) => {
        const asset = toAsset({ title: null, caption: null, keywords: kws, campaign: null, region: null });
        const [c] = computeDiff(asset, prepareAll(changes, cat));
        if (!c) return;
        for (const k of c.after as string[]) assert.ok(k === k.trim() && k !== '' && !k.includes(','), JSON.stringify(k));
        const before = new Set((c.before as string[]).map((k) => k.toLowerCase()));
        const added = (c.after as string[]).filter((k) => !before.has(k.toLowerCase())).map((k) => k.toLowerCase());
        assert.equal(new Set(added).size, added.length);
      }),
      { numRuns: 200 },
    );
  });
});
