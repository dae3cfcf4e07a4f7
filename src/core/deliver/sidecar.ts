/**
 * Sidecar metadata written next to a delivered file: the asset as JSON, or an XMP packet with the IPTC
 * core fields (Dublin Core, Photoshop and Iptc4xmpCore namespaces), XML-escaped.
 */
import type { Asset } from '../asset';
import { DeliverError } from './types';

export type SidecarKind = 'none' | 'json' | 'xmp';

export const SIDECAR_KINDS: readonly SidecarKind[] = ['none', 'json', 'xmp'];

export function xmlEscape(s: string): string {
  return (
    s
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
      // characters XML 1.0 cannot carry at all
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
  );
}

/** One value as text: scalars as they are, lists joined with commas, objects as JSON. */
function scalar(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') {
    try {
      return JSON.stringify(v) ?? '';
    } catch {
      return '';
    }
  }
  return String(v);
}

function text(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  const s = Array.isArray(v) ? v.map(scalar).filter((x) => x !== '').join(', ') : scalar(v);
  return s.trim() === '' ? undefined : s;
}

const alt = (tag: string, v: string): string =>
  `   <${tag}>\n    <rdf:Alt>\n     <rdf:li xml:lang="x-default">${xmlEscape(v)}</rdf:li>\n    </rdf:Alt>\n   </${tag}>\n`;
const seq = (tag: string, list: string[]): string =>
  `   <${tag}>\n    <rdf:Seq>\n${list.map((v) => `     <rdf:li>${xmlEscape(v)}</rdf:li>\n`).join('')}    </rdf:Seq>\n   </${tag}>\n`;
const bag = (tag: string, list: string[]): string =>
  `   <${tag}>\n    <rdf:Bag>\n${list.map((v) => `     <rdf:li>${xmlEscape(v)}</rdf:li>\n`).join('')}    </rdf:Bag>\n   </${tag}>\n`;
const simple = (tag: string, v: string): string => `   <${tag}>${xmlEscape(v)}</${tag}>\n`;

/** An XMP packet (UTF-8) with the asset's IPTC core fields; fields without a value are left out. */
export function xmpPacket(asset: Asset): string {
  const i = (asset.iptc && typeof asset.iptc === 'object' ? asset.iptc : { keywords: [] }) as Record<string, unknown>;
  const f = (name: string): string | undefined => text(i[name]);
  let body = '';
  const title = f('title') ?? f('headline');
  if (title) body += alt('dc:title', title);
  if (f('caption')) body += alt('dc:description', f('caption') as string);
  const keywords = Array.isArray(i.keywords) ? i.keywords.map(scalar).filter((k) => k.trim() !== '') : [];
  if (keywords.length) body += bag('dc:subject', keywords);
  const rights = f('copyright') ?? f('rights');
  if (rights) body += alt('dc:rights', rights);
  if (f('author')) body += seq('dc:creator', [f('author') as string]);
  const simpleFields: Array<[string, string]> = [
    ['photoshop:Headline', 'headline'],
    ['photoshop:Credit', 'credit'],
    ['photoshop:Source', 'source'],
    ['photoshop:City', 'city'],
    ['photoshop:State', 'state'],
    ['photoshop:Country', 'country'],
    ['photoshop:CaptionWriter', 'caption_writer'],
    ['photoshop:Instructions', 'instructions'],
    ['photoshop:AuthorsPosition', 'position'],
    ['photoshop:TransmissionReference', 'trans_ref'],
    ['photoshop:Category', 'category'],
    ['Iptc4xmpCore:Location', 'location'],
    ['Iptc4xmpCore:CountryCode', 'country_iso'],
  ];
  for (const [tag, name] of simpleFields) {
    const v = f(name);
    if (v) body += simple(tag, v);
  }
  if (f('web_statement')) body += simple('xmpRights:WebStatement', f('web_statement') as string);
  return (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n' +
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n' +
    ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n' +
    '  <rdf:Description rdf:about=""\n' +
    '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n' +
    '    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"\n' +
    '    xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"\n' +
    '    xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/">\n' +
    body +
    '  </rdf:Description>\n' +
    ' </rdf:RDF>\n' +
    '</x:xmpmeta>\n' +
    '<?xpacket end="w"?>\n'
  );
}

/** The sidecar's bytes, content type and suffix, or undefined for `none`. Throws DeliverError('ESIDECAR') when it cannot be made. */
export function sidecarFor(kind: SidecarKind, asset: Asset): { suffix: string; contentType: string; data: Buffer } | undefined {
  if (kind === 'none') return undefined;
  const name = kind === 'json' ? 'JSON' : 'XMP';
  try {
    if (kind === 'json') return { suffix: '.json', contentType: 'application/json', data: Buffer.from(JSON.stringify(asset, null, 2) + '\n') };
    if (kind === 'xmp') return { suffix: '.xmp', contentType: 'application/rdf+xml', data: Buffer.from(xmpPacket(asset)) };
  } catch (e) {
    const why = /circular/i.test(String((e as Error)?.message))
      ? 'msg.asset refers to itself (a circular structure)'
      : /BigInt/i.test(String((e as Error)?.message))
        ? 'msg.asset holds a BigInt, which JSON cannot carry'
        : `msg.asset cannot be written out (${String((e as Error)?.message ?? e).slice(0, 80)})`;
    throw new DeliverError('ESIDECAR', `The ${name} sidecar of ${String((asset as { id?: unknown })?.id ?? 'the asset').slice(0, 40)} cannot be made: ${why}; nothing was written`, false, { cause: e });
  }
  throw new DeliverError('ECONFIG', `Unknown sidecar kind "${String(kind).slice(0, 20)}": use none, json or xmp`);
}
