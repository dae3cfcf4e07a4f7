import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyChanges, computeDiff, normText, writesOf, type AssetValues } from '../../../src/core/update/diff';
import { UPDATE_ERROR_KEYS, UpdateError } from '../../../src/core/update/errors';
import {
  catalogOf,
  prepare,
  renderTemplate,
  resolveTarget,
  toCalendarDate,
  updateSettings,
  type Change,
  type CustomFieldDef,
  type FieldCatalog,
} from '../../../src/core/update/mapping';
import { prepareAll } from '../../../src/core/update/apply';
import { requestOf, runPool } from '../../../src/core/update/batch';

const CUSTOM: Record<string, CustomFieldDef> = {
  'Approval Status': { id: 'F0000APPROVALSTS', type: 'select', options: ['Pending', 'Approved', 'Rejected'] },
  Department: { id: 'F0000DEPARTMENT0', type: 'select' },
  'License Expiration Date': { id: 'F0000LICENSEEXPR', type: 'date' },
  Campaign: { id: 'F0000CAMPAIGN000', type: 'text' },
  Title: { id: 'F0000CUSTOMTITLE', type: 'text' },
};
const cat: FieldCatalog = catalogOf([], CUSTOM);

function asset(iptc: Record<string, unknown> = {}, custom: Record<string, string | null> = {}): AssetValues {
  return { iptc: { keywords: [], ...iptc } as AssetValues['iptc'], custom: { Campaign: null, ...custom } };
}
const diffOf = (a: AssetValues, changes: Change[], zone = 'UTC') => computeDiff(a, prepareAll(changes, cat, zone));
const summary = (a: AssetValues, changes: Change[]) => Object.fromEntries(diffOf(a, changes).map((c) => [c.key, [c.before, c.after]]));
const code = (key: string) => (e: unknown) => e instanceof UpdateError && e.key === key;

describe('update: the diff', () => {
  describe('text fields', () => {
    it('set writes a different value and skips an equal one', () => {
      assert.deepEqual(summary(asset({ title: 'Old' }), [{ target: 'title', op: 'set', value: 'New' }]), { title: ['Old', 'New'] });
      assert.deepEqual(summary(asset({ title: 'Same' }), [{ target: 'title', op: 'set', value: 'Same' }]), {});
    });

    it('ignores leading/trailing whitespace, CRLF against LF and NFC against NFD, but not case', () => {
      const a = asset({ title: '  Café\r\nline  ' });
      assert.deepEqual(summary(a, [{ target: 'title', op: 'set', value: 'Cafe\u0301\nline' }]), {});
      assert.deepEqual(summary(a, [{ target: 'title', op: 'set', value: 'café\nline' }]), { title: ['  Café\r\nline  ', 'café\nline'] });
    });

    it('treats an empty text as not set, and clear on an unset field as no change', () => {
      assert.deepEqual(summary(asset({ title: null }), [{ target: 'title', op: 'set', value: '   ' }]), {});
      assert.deepEqual(summary(asset({ title: '' }), [{ target: 'title', op: 'clear' }]), {});
      assert.deepEqual(summary(asset({ title: 'x' }), [{ target: 'title', op: 'clear' }]), { title: ['x', null] });
      assert.deepEqual(summary(asset({ title: 'x' }), [{ target: 'title', op: 'set', value: null }]), { title: ['x', null] });
    });

    it('append adds after a space, once; on an empty field it sets', () => {
      assert.deepEqual(summary(asset({ caption: 'A photo' }), [{ target: 'caption', op: 'append', value: '© Acme' }]), { caption: ['A photo', 'A photo © Acme'] });
      assert.deepEqual(summary(asset({ caption: 'A photo © Acme' }), [{ target: 'caption', op: 'append', value: '© Acme' }]), {});
      assert.deepEqual(summary(asset({ caption: null }), [{ target: 'caption', op: 'append', value: '© Acme' }]), { caption: [null, '© Acme'] });
      assert.deepEqual(summary(asset({ caption: 'x' }), [{ target: 'caption', op: 'append', value: '  ' }]), {});
    });

    it('remove deletes every occurrence with its spaces; nothing to remove is no change', () => {
      assert.deepEqual(summary(asset({ caption: 'DRAFT A photo DRAFT here' }), [{ target: 'caption', op: 'remove', value: 'DRAFT' }]), {
        caption: ['DRAFT A photo DRAFT here', 'A photo here'],
      });
      assert.deepEqual(summary(asset({ caption: 'DRAFT' }), [{ target: 'caption', op: 'remove', value: 'DRAFT' }]), { caption: ['DRAFT', null] });
      assert.deepEqual(summary(asset({ caption: 'A photo' }), [{ target: 'caption', op: 'remove', value: 'DRAFT' }]), {});
    });

    it('stringifies numbers, booleans and dates; rejects objects', () => {
      assert.deepEqual(summary(asset(), [{ target: 'headline', op: 'set', value: 42 }]), { headline: [null, '42'] });
      assert.deepEqual(summary(asset(), [{ target: 'headline', op: 'set', value: new Date(Date.UTC(2025, 0, 2)) }]), { headline: [null, '2025-01-02T00:00:00.000Z'] });
      assert.throws(() => diffOf(asset(), [{ target: 'headline', op: 'set', value: { a: 1 } }]), code('wrongType'));
      assert.throws(() => diffOf(asset(), [{ target: 'headline', op: 'set', value: ['a'] }]), code('wrongType'));
    });

    it('keeps unicode intact (emoji, CJK, RTL)', () => {
      const value = '東京 🌸 שלום';
      const d = diffOf(asset({ caption: 'x' }), [{ target: 'caption', op: 'set', value }]);
      assert.equal(d[0].after, value);
      assert.deepEqual(writesOf(d).iptc, { caption: value });
    });
  });

  describe('keywords', () => {
    it('set replaces the list; the same items in another order are no change', () => {
      assert.deepEqual(summary(asset({ keywords: ['a', 'b'] }), [{ target: 'keywords', op: 'set', value: 'b, a' }]), {});
      assert.deepEqual(summary(asset({ keywords: ['a', 'b'] }), [{ target: 'keywords', op: 'set', value: ['c'] }]), { keywords: [['a', 'b'], ['c']] });
    });

    it('set drops case-insensitive duplicates and empty items, keeps case otherwise', () => {
      assert.deepEqual(summary(asset({ keywords: ['beach'] }), [{ target: 'keywords', op: 'set', value: ['Beach', 'beach', ' ', ''] }]), {
        keywords: [['beach'], ['Beach']],
      });
    });

    it('append adds what is missing, without regard to case', () => {
      assert.deepEqual(summary(asset({ keywords: ['Beach', 'sun'] }), [{ target: 'keywords', op: 'append', value: 'beach, Sea, sea' }]), {
        keywords: [['Beach', 'sun'], ['Beach', 'sun', 'Sea']],
      });
      assert.deepEqual(summary(asset({ keywords: ['Beach'] }), [{ target: 'keywords', op: 'append', value: ['BEACH'] }]), {});
    });

    it('remove drops items without regard to case; removing what is absent is no change', () => {
      assert.deepEqual(summary(asset({ keywords: ['Beach', 'sun'] }), [{ target: 'keywords', op: 'remove', value: 'BEACH' }]), {
        keywords: [['Beach', 'sun'], ['sun']],
      });
      assert.deepEqual(summary(asset({ keywords: ['sun'] }), [{ target: 'keywords', op: 'remove', value: 'rain' }]), {});
    });

    it('clear empties; an empty list cleared is no change; an empty list is written as null', () => {
      const d = diffOf(asset({ keywords: ['a'] }), [{ target: 'keywords', op: 'clear' }]);
      assert.deepEqual(d.map((c) => c.after), [[]]);
      assert.deepEqual(writesOf(d).iptc, { keywords: null });
      assert.deepEqual(summary(asset({ keywords: [] }), [{ target: 'keywords', op: 'clear' }]), {});
    });

    it('rows on the same field apply in order', () => {
      const changes: Change[] = [
        { target: 'keywords', op: 'remove', value: 'draft' },
        { target: 'keywords', op: 'append', value: 'final' },
      ];
      assert.deepEqual(summary(asset({ keywords: ['draft', 'x'] }), changes), { keywords: [['draft', 'x'], ['x', 'final']] });
    });

    it('writes keywords as one comma-separated string', () => {
      const d = diffOf(asset(), [{ target: 'keywords', op: 'set', value: ['a', 'b c'] }]);
      assert.deepEqual(writesOf(d), { iptc: { keywords: 'a, b c' } });
    });

    it('handles a huge list', () => {
      const many = Array.from({ length: 5000 }, (_, i) => `k${i}`);
      const d = diffOf(asset({ keywords: many }), [{ target: 'keywords', op: 'append', value: [...many.slice(0, 100), 'new'] }]);
      assert.equal((d[0].after as string[]).length, 5001);
      assert.deepEqual(summary(applyChanges(asset({ keywords: many }), d), [{ target: 'keywords', op: 'append', value: 'new' }]), {});
    });
  });

  describe('custom fields', () => {
    it('writes custom fields by id and reports them by name', () => {
      const d = diffOf(asset(), [{ target: 'Campaign', op: 'set', value: 'Winter' }]);
      assert.deepEqual(writesOf(d), { custom: [{ field_id: 'F0000CAMPAIGN000', value: 'Winter' }] });
      assert.equal(d[0].key, 'Campaign');
    });

    it('a select value matching in another case is no change; the option spelling is written', () => {
      assert.deepEqual(summary(asset({}, { 'Approval Status': 'Approved' }), [{ target: 'Approval Status', op: 'set', value: 'approved' }]), {});
      assert.deepEqual(summary(asset({}, { 'Approval Status': 'Pending' }), [{ target: 'Approval Status', op: 'set', value: 'approved' }]), {
        'Approval Status': ['Pending', 'Approved'],
      });
    });
  });
});

describe('update: validation', () => {
  it('rejects an unknown IPTC or custom field, naming the custom fields', () => {
    assert.throws(() => resolveTarget('iptc.nope', cat), code('unknownField'));
    assert.throws(
      () => resolveTarget('Campaing', cat),
      (e: unknown) => e instanceof UpdateError && e.key === 'unknownField' && String(e.values.custom).includes('Campaign'),
    );
    assert.throws(() => resolveTarget('custom.title', catalogOf([], {})), code('unknownField'));
  });

  it('resolves names: exact first, then case-insensitive; field ids; prefixes for clashes', () => {
    assert.equal(resolveTarget('caption', cat).area, 'iptc');
    assert.equal(resolveTarget('CAMPAIGN', cat).name, 'Campaign');
    assert.equal(resolveTarget('F0000CAMPAIGN000', cat).name, 'Campaign');
    assert.equal(resolveTarget('title', cat).area, 'iptc');
    assert.equal(resolveTarget('Title', cat).area, 'custom');
    assert.equal(resolveTarget('Title', cat).key, 'custom.Title');
    assert.equal(resolveTarget('iptc.Title', cat).area, 'iptc');
    assert.throws(() => resolveTarget('TITLE', cat), code('ambiguousField'));
  });

  it('rejects a bad date and accepts dates, date-times, Date objects and milliseconds', () => {
    const ref = resolveTarget('License Expiration Date', cat);
    assert.throws(() => prepare({ target: 'x', op: 'set', value: '2025-02-30' }, ref), code('badDate'));
    assert.throws(() => prepare({ target: 'x', op: 'set', value: 'next tuesday' }, ref), code('badDate'));
    assert.throws(() => prepare({ target: 'x', op: 'set', value: { d: 1 } }, ref), code('wrongType'));
    assert.deepEqual(prepare({ target: 'x', op: 'set', value: '2025-06-30' }, ref), { ref, op: 'set', value: '2025-06-30' });
    assert.equal(toCalendarDate('2025-06-30T23:30:00Z', 'Europe/Berlin', 'x'), '2025-07-01');
    assert.equal(toCalendarDate(Date.UTC(2025, 5, 30, 23, 30), 'UTC', 'x'), '2025-06-30');
    assert.equal(toCalendarDate(new Date(Date.UTC(2025, 0, 1, 3)), 'America/New_York', 'x'), '2024-12-31');
    assert.equal(prepare({ target: 'x', op: 'set', value: '' }, ref).op, 'set');
  });

  it('checks select values against the options when they are known', () => {
    const known = resolveTarget('Approval Status', cat);
    assert.throws(() => prepare({ target: 'x', op: 'set', value: 'Maybe' }, known), code('badSelect'));
    assert.throws(() => prepare({ target: 'x', op: 'set', value: ['Approved'] }, known), code('wrongType'));
    const unknownOptions = resolveTarget('Department', cat);
    assert.deepEqual(prepare({ target: 'x', op: 'set', value: ' Sales ' }, unknownOptions), { ref: unknownOptions, op: 'set', value: 'Sales' });
  });

  it('allows only set and clear on date, select and urgency fields', () => {
    assert.throws(() => prepare({ target: 'x', op: 'append', value: 'x' }, resolveTarget('Approval Status', cat)), code('opNotAllowed'));
    assert.throws(() => prepare({ target: 'x', op: 'remove', value: '2025-01-01' }, resolveTarget('License Expiration Date', cat)), code('opNotAllowed'));
    assert.throws(() => prepare({ target: 'x', op: 'append', value: '1' }, resolveTarget('urgency', cat)), code('opNotAllowed'));
  });

  it('checks urgency is a digit 0-8', () => {
    const ref = resolveTarget('urgency', cat);
    assert.equal((prepare({ target: 'x', op: 'set', value: 5 }, ref) as { value: string }).value, '5');
    assert.throws(() => prepare({ target: 'x', op: 'set', value: '9' }, ref), code('badUrgency'));
  });

  it('rejects keywords that are not text', () => {
    assert.throws(() => prepare({ target: 'x', op: 'set', value: [{}] }, resolveTarget('keywords', cat)), code('wrongType'));
  });

  it('skips a change whose value is undefined (a missing msg property)', () => {
    assert.deepEqual(prepareAll([{ target: 'title', op: 'set', value: undefined }, { target: 'title', op: 'clear' }], cat).map((p) => p.op), ['clear']);
  });

  it('checks the configuration', () => {
    assert.deepEqual(updateSettings({}), { rows: [], dryRun: false, concurrency: 4 });
    const s = updateSettings({ rows: [{ target: ' caption ', op: 'append', value: '{{payload}}' }], dryRun: true, concurrency: '2' });
    assert.deepEqual(s, { rows: [{ target: 'caption', op: 'append', value: '{{payload}}', valueType: 'str' }], dryRun: true, concurrency: 2 });
    assert.throws(() => updateSettings({ rows: [{ target: '' }] }), code('badTarget'));
    assert.throws(() => updateSettings({ rows: [{ target: 'x', op: 'merge' }] }), code('badOp'));
    assert.throws(() => updateSettings({ rows: [{ target: 'urgency', op: 'append', value: '1' }] }), code('opNotAllowed'));
    assert.throws(() => updateSettings({ rows: [{ target: 'x', valueType: 'bin' }] }), code('badValueType'));
    assert.throws(() => updateSettings({ rows: [{ target: 'x', value: '{{#a}}' }] }), code('badTemplate'));
    assert.throws(() => updateSettings({ concurrency: 0 }), code('badConcurrency'));
    assert.throws(() => updateSettings({ concurrency: 2.5 }), code('badConcurrency'));
  });

  it('every error key has a catalogue text', () => {
    const file = join(__dirname, '..', '..', '..', 'nodes', 'locales', 'en-US', 'photoshelter-update.json');
    const errors = (JSON.parse(readFileSync(file, 'utf8')) as { 'photoshelter-update': { errors: Record<string, string> } })['photoshelter-update'].errors;
    assert.deepEqual(UPDATE_ERROR_KEYS.filter((k) => typeof errors[k] !== 'string'), []);
  });
});

describe('update: mustache values', () => {
  it('renders msg properties without HTML escaping', () => {
    assert.equal(renderTemplate('{{payload.name}} & {{topic}}', { payload: { name: '<Tom & Jerry>' }, topic: 'x' }), '<Tom & Jerry> & x');
    assert.equal(renderTemplate('{{payload.n}}', { payload: { n: 0 } }), '0');
    assert.equal(renderTemplate('plain text', {}), 'plain text');
  });

  it('fails on a missing property instead of rendering an empty value', () => {
    assert.throws(() => renderTemplate('{{payload.campaign}}', { payload: {} }, 'Campaign'), (e: unknown) => e instanceof UpdateError && e.key === 'missingVariable' && e.values.name === 'payload.campaign');
  });

  it('allows optional parts in sections', () => {
    assert.equal(renderTemplate('a{{#payload.x}} {{payload.x}}{{/payload.x}}', { payload: {} }), 'a');
    assert.equal(renderTemplate('a{{#payload.x}} {{.}}{{/payload.x}}', { payload: { x: 'b' } }), 'a b');
  });

  it('reports a broken template', () => {
    assert.throws(() => renderTemplate('{{#a}}', {}), code('badTemplate'));
  });
});

describe('update: requests and batches', () => {
  const rows: Change[] = [{ target: 'title', op: 'set', value: 'T' }];

  it('takes the id from msg.asset.id, else the payload or payload.id, and payload.fields as sets', () => {
    assert.equal(requestOf({ asset: { id: 'I0000AAAAAAAAAAA' }, payload: 'I0000BBBBBBBBBBB' }, rows).items[0].id, 'I0000AAAAAAAAAAA');
    assert.equal(requestOf({ payload: ' I0000BBBBBBBBBBB ' }, rows).items[0].id, 'I0000BBBBBBBBBBB');
    const r = requestOf({ payload: { id: 'I0000CCCCCCCCCCC', fields: { caption: 'c' } } }, rows);
    assert.equal(r.batch, false);
    assert.deepEqual(r.items[0].changes, [...rows, { target: 'caption', op: 'set', value: 'c' }]);
  });

  it('reads a batch: rows first, then each item fields; bad items carry their error', () => {
    const r = requestOf({ payload: ['I0000AAAAAAAAAAA', { id: 'I0000BBBBBBBBBBB', fields: { title: 'U' } }, 7, { id: 'I0000CCCCCCCCCCC', fields: 'x' }] }, rows);
    assert.equal(r.batch, true);
    assert.deepEqual(r.items[0].changes, rows);
    assert.deepEqual(r.items[1].changes, [...rows, { target: 'title', op: 'set', value: 'U' }]);
    assert.equal(r.items[2].error?.key, 'badItem');
    assert.equal(r.items[3].error?.key, 'badFields');
  });

  it('runs a pool with bounded concurrency, keeping the order', async () => {
    let active = 0;
    let peak = 0;
    const out = await runPool([5, 1, 4, 2, 3, 0, 2], 3, async (n) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setImmediate(r));
      for (let i = 0; i < n; i++) await Promise.resolve();
      active--;
      return n * 10;
    });
    assert.deepEqual(out, [50, 10, 40, 20, 30, 0, 20]);
    assert.equal(peak, 3);
    assert.deepEqual(await runPool([], 4, async () => 1), []);
  });

  it('normalizes text the same way for comparison and writing', () => {
    assert.equal(normText(' a\r\nb '), 'a\nb');
    assert.equal(normText('   '), null);
  });
});
