import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalizeAsset } from '../../../src/core/asset';

describe('core/asset: values that cannot become text', () => {
  it('an object without toString, or without a prototype, is no value: normalizing never throws', () => {
    const odd = [{ toString: undefined }, Object.create(null) as object, [{ toString: undefined }]];
    for (const v of odd) {
      const a = normalizeAsset({
        media: { id: 'I0000xxxxxxxxxxx', attributes: { file_name: v, file_size: v, width: v, modified_at: v, rating: v, hash: v, flagged: v } as never },
        iptc: { attributes: { keywords: [v, 'kept', 7], title: v, city: 'Brest' } as never },
      });
      assert.equal(a.fileName, '');
      assert.equal(a.fileSize, null);
      assert.equal(a.rating, null);
      assert.deepEqual(a.iptc?.keywords, ['kept', '7']);
      assert.equal(a.iptc?.title, null);
      assert.equal(a.iptc?.city, 'Brest');
    }
  });

  it('property: never throws, with objects of any shape anywhere', () => {
    const any = fc.anything({ withObjectString: true, withNullPrototype: true, withBoxedValues: true });
    fc.assert(
      fc.property(fc.dictionary(fc.string(), any), any, (attributes, keywords) => {
        const a = normalizeAsset({ media: { id: 'I0000xxxxxxxxxxx', attributes }, iptc: { attributes: { ...attributes, keywords } as Record<string, unknown> } });
        assert.equal(typeof a.versionKey, 'string');
        assert.ok(Array.isArray(a.iptc?.keywords));
      }),
      { numRuns: 500 },
    );
  });
});
