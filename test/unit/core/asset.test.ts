import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fnv1a, normalizeAsset, splitKeywords, versionKeyOf, type RawResource } from '../../../src/core/asset';

const media: RawResource = {
  id: 'I0000abc.DEF_123',
  type: 'image',
  attributes: {
    file_name: 'Läufer im Ziel.jpg',
    file_size: 5_242_880,
    width: 6000,
    height: 4000,
    rating: 4,
    model_released: true,
    property_released: false,
    flagged: false,
    searchable: true,
    created_at: '2024-05-01T08:00:00.123456',
    modified_at: '2024-06-02T09:30:00.000001',
    owner_id: 'U0000owner000001',
    organization_id: 'O0000org00000001',
    photographer_id: null,
  },
};

describe('core/asset', () => {
  it('normalizes the media attributes with zoned ISO dates', () => {
    const a = normalizeAsset({ media });
    assert.equal(a.id, 'I0000abc.DEF_123');
    assert.equal(a.kind, 'image');
    assert.equal(a.fileName, 'Läufer im Ziel.jpg');
    assert.equal(a.fileSize, 5_242_880);
    assert.deepEqual([a.width, a.height, a.rating], [6000, 4000, 4]);
    assert.deepEqual(a.releases, { model: true, property: false });
    assert.equal(a.createdAt, '2024-05-01T08:00:00.123456Z');
    assert.equal(a.modifiedAt, '2024-06-02T09:30:00.000001Z');
    assert.equal(a.photographerId, null);
    assert.equal(a.iptc, undefined);
    assert.equal(a.custom, undefined);
  });

  it('applies the account time zone to zone-less dates', () => {
    const a = normalizeAsset({ media }, { timeZone: 'Europe/Berlin' });
    assert.equal(a.createdAt, '2024-05-01T06:00:00.123456Z');
  });

  it('reads IPTC, custom metadata and galleries from include blocks', () => {
    const withIncludes: RawResource = {
      ...media,
      includes: {
        iptc: { data: { id: media.id, type: 'iptc', attributes: { caption: 'Finish line', keywords: 'run, sport,, finish ', city: 'Berlin' } } },
        custom_metadata: {
          data: {
            id: media.id,
            type: 'custom_metadata',
            attributes: {
              custom_metadata: [
                { field_id: 'F0000approval001', name: 'Approval Status', type: 'select', value: 'Approved' },
                { field_id: 'F0000expiry00001', name: 'License Expiration Date', type: 'date', value: null },
              ],
            },
          },
        },
        galleries: { data: [{ id: 'G0000gallery0001', type: 'gallery', attributes: { name: 'Marathon' } }] },
      },
    };
    const a = normalizeAsset({ media: withIncludes });
    assert.equal(a.iptc?.caption, 'Finish line');
    assert.deepEqual(a.iptc?.keywords, ['run', 'sport', 'finish']);
    assert.equal(a.iptc?.headline, null);
    assert.deepEqual(a.custom, { 'Approval Status': 'Approved', 'License Expiration Date': null });
    assert.deepEqual(a.customFields?.['Approval Status'], { id: 'F0000approval001', type: 'select' });
    assert.deepEqual(a.galleries, [{ id: 'G0000gallery0001', name: 'Marathon' }]);
  });

  it('builds one path per gallery, in gallery order', () => {
    const a = normalizeAsset({
      media,
      galleries: [
        { id: 'G0000second00002', attributes: { name: 'B' } },
        { id: 'G0000first000001', attributes: { name: 'A' } },
      ],
      paths: {
        G0000first000001: [{ id: 'C0000root0000001', attributes: { name: 'Root' } }, { id: 'G0000first000001', attributes: { name: 'A' } }],
        G0000second00002: [{ id: 'C0000other000001', attributes: { name: 'Other' } }, { id: 'G0000second00002', attributes: { name: 'B' } }],
      },
    });
    assert.deepEqual(a.paths?.map((p) => p.galleryId), ['G0000second00002', 'G0000first000001']);
    assert.equal(a.path, 'Other/B');
  });

  it('derives a version key that follows the file, not the metadata', () => {
    const base = normalizeAsset({ media });
    const metaEdit = normalizeAsset({ media: { ...media, attributes: { ...media.attributes, modified_at: '2025-01-01T00:00:00' } } });
    const newFile = normalizeAsset({ media: { ...media, attributes: { ...media.attributes, file_size: 5_242_881 } } });
    assert.equal(base.versionKey, metaEdit.versionKey);
    assert.notEqual(base.metadataKey, metaEdit.metadataKey);
    assert.notEqual(base.versionKey, newFile.versionKey);
  });

  it('infers the kind from the id when the type is missing or spelled "doc"', () => {
    assert.equal(normalizeAsset({ media: { id: 'VD000video000001' } }).kind, 'video');
    assert.equal(normalizeAsset({ media: { id: 'AD000audio000001' } }).kind, 'audio');
    assert.equal(normalizeAsset({ media: { id: 'X', type: 'doc' } }).kind, 'document');
  });

  it('property: never throws on arbitrary attribute values', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.anything()), fc.anything(), (attributes, keywords) => {
        const a = normalizeAsset({ media: { id: 'I0000xxxxxxxxxxx', attributes }, iptc: { attributes: { keywords } as Record<string, unknown> } });
        assert.equal(typeof a.versionKey, 'string');
        assert.ok(Array.isArray(a.iptc?.keywords));
      }),
    );
  });

  it('property: keywords survive a join/split round trip, unicode and huge lists included', () => {
    const kw = fc.string({ unit: 'grapheme', minLength: 1 }).filter((s) => !s.includes(',') && s.trim() === s && s.length > 0);
    fc.assert(
      fc.property(fc.array(kw, { maxLength: 2000 }), (list) => {
        assert.deepEqual(splitKeywords(list.join(', ')), list);
        assert.deepEqual(splitKeywords(list), list);
      }),
      { numRuns: 50 },
    );
  });
  it('property: a version key fingerprints the id and file name joined with a slash, as keys in ledgers always had it', () => {
    // fixed values from keys as written before: a change here would make every ledger entry a new version
    assert.equal(versionKeyOf('I0000abc', 'a.jpg', 10, 2, 3), `10-2x3-${fnv1a('I0000abc/a.jpg')}`);
    assert.equal(versionKeyOf('I0000abc', 'a.jpg', 10, 2, 3), '10-2x3-71a9297d');
    fc.assert(
      fc.property(fc.string(), fc.string({ unit: 'binary' }), fc.option(fc.nat(), { nil: null }), (id, name, size) => {
        assert.equal(versionKeyOf(id, name, size, null, 7), `${size ?? 'x'}-xx7-${fnv1a(`${id}/${name}`)}`);
      }),
    );
    // the hash as text: 8 hex digits, as the radix conversion writes them
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        let h = 0x811c9dc5;
        for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
        assert.equal(fnv1a(text), (h >>> 0).toString(16).padStart(8, '0'));
      }),
    );
    assert.equal(fnv1a(''), '811c9dc5');
  });
});
