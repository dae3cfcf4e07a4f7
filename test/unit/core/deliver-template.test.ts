/**
 * Location templates are strict: a name the message does not have is an error (as in the update node),
 * not an empty string that would put the file somewhere else; a malformed template says where it is.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deliverer, type DeliverAsset } from '../../../src/core/deliver/deliver';
import { createDestination, destinationTemplates } from '../../../src/core/deliver/registry';
import { missingNames, parseTemplate, renderStrict, viewOf } from '../../../src/core/deliver/template';
import { DeliverError } from '../../../src/core/deliver/types';

const asset: DeliverAsset = { id: 'I0000abcdefghijk', versionKey: 'v1', fileName: 'harbour.jpg', path: 'Campaigns/Spring', iptc: { title: 'Harbour', city: null } };
const isTemplateError = (re: RegExp) => (e: unknown) => e instanceof DeliverError && e.code === 'ETEMPLATE' && re.test(e.message);

describe('deliver: strict location templates', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'ps-template-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('a name the message does not have is an error that names it; null, sections and inverted sections are fine', () => {
    const view = viewOf({ topic: 't' }, { asset });
    assert.equal(renderStrict('{{{asset.path}}}/{{asset.fileName}}', view, 'path'), 'Campaigns/Spring/harbour.jpg');
    assert.throws(() => renderStrict('{{asset.iptc.titel}}/{{asset.fileName}}', view, 'path'), isTemplateError(/uses \{\{asset\.iptc\.titel\}\}, which this message does not have/));
    assert.deepEqual(missingNames('{{a}}/{{{b.c}}}/{{topic}}/{{a}}', view), ['a', 'b.c']);
    assert.equal(renderStrict('{{asset.iptc.city}}x', view, 'path'), 'x', 'a value that is null is there, and empty');
    assert.equal(renderStrict('{{#region}}{{region}}/{{/region}}{{^region}}unsorted/{{/region}}{{asset.fileName}}', view, 'path'), 'unsorted/harbour.jpg');
  });

  it('a malformed template says where', () => {
    assert.throws(() => parseTemplate('{{asset.id}/x'), isTemplateError(/Unclosed tag at character 13/));
    assert.throws(() => parseTemplate('{{#a}}x'), isTemplateError(/Unclosed section "a" at character 7/));
    assert.throws(() => parseTemplate('x{{/a}}'), isTemplateError(/Unopened section "a" at character 1/));
  });

  it('a delivery with a misspelt name writes nothing', async () => {
    const config = { kind: 'folder', folder: tmp, template: '{{asset.pth}}/{{asset.fileName}}' };
    const d = new Deliverer({ destination: createDestination(config), templates: destinationTemplates(config), name: 'folder' });
    await assert.rejects(
      d.put({ asset, view: viewOf({}, { asset }), source: { kind: 'buffer', data: Buffer.from('x') }, signal: new AbortController().signal }),
      isTemplateError(/\{\{asset\.pth\}\}/),
    );
    assert.deepEqual(readdirSync(tmp), []);
    // the node's own template wins over the destination's, and is as strict
    await assert.rejects(
      d.put({ asset, template: '{{msg.region}}/{{asset.fileName}}', view: viewOf({}, { asset }), source: { kind: 'buffer', data: Buffer.from('x') }, signal: new AbortController().signal }),
      isTemplateError(/\{\{msg\.region\}\}/),
    );
    const ok = await d.put({ asset, template: '{{msg.region}}/{{asset.fileName}}', view: viewOf({ region: 'emea' }, { asset }), source: { kind: 'buffer', data: Buffer.from('x') }, signal: new AbortController().signal });
    assert.equal(ok.location, 'emea/harbour.jpg');
    assert.ok(existsSync(join(tmp, 'emea', 'harbour.jpg')));
  });

  it('an HTTP URL template is as strict', () => {
    const config = { kind: 'http', url: 'https://cms.example.com/media/{{asset.slug}}' };
    const d = new Deliverer({ destination: createDestination(config), templates: destinationTemplates(config), name: 'http' });
    assert.throws(() => d.location({ view: viewOf({}, { asset }) }), isTemplateError(/URL template uses \{\{asset\.slug\}\}/));
  });
});
