// Deterministic library generator: same seed and size, same library.
import { makeId } from './ids';
import { Rng, hash32 } from './prng';
import { CUSTOM_FIELDS, emptyIptc, type CustomValues, type Iptc } from './fields';
import {
  FLAG_FLAGGED, FLAG_MODEL_RELEASED, FLAG_PROPERTY_RELEASED, FLAG_SEARCHABLE,
  type CollectionRec, type GalleryRec, type Library, type MediaKind, type MediaRec,
} from './model';

/** Generated dates fall in [EPOCH_START, EPOCH_END): fixed, so the library does not depend on today. */
const EPOCH_START = Date.UTC(2023, 0, 1) * 1000;
const EPOCH_END = Date.UTC(2025, 0, 1) * 1000;

const TOPICS = ['Spring Launch', 'Annual Report', 'Trade Show', 'Product Shots', 'Team Portraits', 'Campus Life',
  'Press Kit', 'Social Media', 'Events', 'Sustainability', 'Retail Stores', 'Brand Assets', 'Partners', 'Archive'];
const PLACES: readonly (readonly [string, string, string, string])[] = [
  ['Berlin', 'Berlin', 'Germany', 'DEU'], ['New York', 'NY', 'United States', 'USA'], ['São Paulo', 'SP', 'Brazil', 'BRA'],
  ['Tokyo', 'Tokyo', 'Japan', 'JPN'], ['Lyon', 'Auvergne-Rhône-Alpes', 'France', 'FRA'], ['Zürich', 'ZH', 'Switzerland', 'CHE'],
  ['Cape Town', 'Western Cape', 'South Africa', 'ZAF'], ['Sydney', 'NSW', 'Australia', 'AUS'], ['Toronto', 'ON', 'Canada', 'CAN'],
];
const KEYWORDS = ['people', 'portrait', 'office', 'product', 'launch', 'outdoor', 'teamwork', 'city', 'night', 'stage',
  'audience', 'detail', 'logo', 'workshop', 'summer', 'winter', 'aerial', 'drone', 'interview', 'factory', 'green'];
const AUTHORS = ['Ana Souza', 'Jonas Becker', 'Mei Tanaka', 'Chloé Martin', 'Sam Okafor', 'Priya Nair', 'Lukas Horvat'];
const CAMPAIGNS = ['Spring Launch 2025', 'Brand Refresh', 'Holiday 2024', 'Back to School', 'Investor Day'];
const USAGE = ['Internal use only', 'Editorial use only', 'Unlimited use', 'Social media only', 'Web and print, 2 years'];
const WEIRD_NAMES = [
  'Café Müller – Übersicht.jpg', '東京タワー 夜景.jpg', 'Fest 🎉 finale.jpg', 'photo with   spaces .JPG',
  'résumé (final) [v2] #3 & more.jpeg', 'Ωμέγα-Αθήνα.jpg', 'قمر.jpg', "O'Brien's \"quoted\" name.jpg",
];

export interface GenerateOptions {
  seed: number;
  assets: number;
  orgId: string;
  userId: string;
}

function timeBetween(rng: Rng, start: number, end: number): number {
  return start + Math.floor(rng.next() * (end - start));
}

function kindFor(rng: Rng): MediaKind {
  return rng.weighted<MediaKind>([['image', 90], ['video', 5], ['document', 3], ['audio', 2]]);
}

const PREFIX = { image: 'I0000', video: 'VD000', audio: 'AD000', document: 'DO000' } as const;
const EXT = { image: ['.jpg', '.JPG', '.jpeg', '.CR3', '.tif', '.png'], video: ['.mp4', '.mov'], audio: ['.mp3', '.wav'], document: ['.pdf', '.docx'] } as const;

function fileNameFor(rng: Rng, kind: MediaKind, index: number): string {
  const ext = rng.pick(EXT[kind]);
  if (kind === 'image') {
    const r = rng.next();
    if (r < 0.02) return WEIRD_NAMES[index % WEIRD_NAMES.length];
    if (r < 0.03) return `${'Very long file name of a campaign photo '.repeat(5)}${index}${ext}`;
    if (r < 0.06) return 'IMG_0001.JPG'; // the same name recurs across galleries
    if (r < 0.5) return `IMG_${String(rng.int(1, 9999)).padStart(4, '0')}${ext}`;
    if (r < 0.75) return `DSC${String(rng.int(1, 99999)).padStart(5, '0')}${ext}`;
    return `${rng.pick(TOPICS)} ${String(index).padStart(4, '0')}${ext}`;
  }
  return `${rng.pick(TOPICS)} ${kind} ${index}${ext}`;
}

function sizeFor(rng: Rng, kind: MediaKind, fileName: string): { fileSize: number; width: number; height: number; duration: number } {
  if (kind === 'image') {
    const portrait = rng.chance(0.3);
    const long = rng.pick([1200, 2400, 4000, 6000, 8192]);
    const short = Math.round(long * rng.pick([0.5625, 0.6667, 0.75]));
    const raw = /\.(cr3|tif)$/i.test(fileName);
    // Mostly small files so that listing-heavy tests stay light; some realistic sizes.
    const fileSize = rng.chance(0.8) ? rng.int(40_000, 600_000) : rng.int(raw ? 20_000_000 : 5_000_000, raw ? 35_000_000 : 15_000_000);
    return { fileSize, width: portrait ? short : long, height: portrait ? long : short, duration: 0 };
  }
  if (kind === 'video') return { fileSize: rng.int(2_000_000, 60_000_000), width: 1920, height: 1080, duration: rng.int(5, 600) };
  if (kind === 'audio') return { fileSize: rng.int(500_000, 8_000_000), width: 0, height: 0, duration: rng.int(10, 900) };
  return { fileSize: rng.int(30_000, 3_000_000), width: 0, height: 0, duration: 0 };
}

export function generateLibrary(opts: GenerateOptions): Library {
  const { seed, assets } = opts;
  const rng = new Rng(hash32(seed, 'library'));
  const lib: Library = {
    seed, orgId: opts.orgId, userId: opts.userId, roots: [],
    collections: new Map(), galleries: new Map(), media: new Map(), mediaList: [], nextMediaIndex: assets, revision: 0,
  };

  const galleryCount = Math.max(6, Math.ceil(assets / 100));
  const collectionCount = Math.max(5, Math.ceil(galleryCount / 8));
  const collections: CollectionRec[] = [];
  for (let i = 0; i < collectionCount; i++) {
    const createdAt = timeBetween(rng, EPOCH_START, EPOCH_START + (EPOCH_END - EPOCH_START) / 4);
    // The first third are top level; the others hang below an earlier one, at most three levels deep.
    let parent: CollectionRec | null = null;
    if (i >= Math.max(2, Math.ceil(collectionCount / 3))) {
      for (let tries = 0; tries < 5 && !parent; tries++) {
        const candidate = collections[rng.int(0, i - 1)];
        let depth = 1;
        for (let p = candidate.parent; p; p = p.parent) depth++;
        if (depth < 3) parent = candidate;
      }
    }
    const c: CollectionRec = {
      id: makeId('C0000', seed, i), index: i, name: `${TOPICS[i % TOPICS.length]}${i >= TOPICS.length ? ` ${Math.floor(i / TOPICS.length) + 1}` : ''}`,
      description: rng.chance(0.5) ? `Collection of ${TOPICS[i % TOPICS.length].toLowerCase()} material` : null,
      parent, collections: [], galleries: [], displayOrder: 0, createdAt, modifiedAt: createdAt + rng.int(0, 86_400) * 1_000_000,
    };
    if (parent) {
      c.displayOrder = parent.collections.length + 1;
      parent.collections.push(c);
    } else {
      c.displayOrder = lib.roots.length + 1;
      lib.roots.push(c);
    }
    collections.push(c);
    lib.collections.set(c.id, c);
  }

  const galleries: GalleryRec[] = [];
  for (let i = 0; i < galleryCount; i++) {
    const createdAt = timeBetween(rng, EPOCH_START, EPOCH_START + (EPOCH_END - EPOCH_START) / 2);
    const [city] = rng.pick(PLACES);
    const g: GalleryRec = {
      id: makeId('G0000', seed, i), index: i, name: `${rng.pick(TOPICS)} – ${city} ${i + 1}`,
      description: rng.chance(0.4) ? `Photos from ${city}` : null, parents: [], media: [], addedAt: new Map(),
      displayOrder: 0, createdAt, modifiedAt: createdAt,
    };
    if (i % 10 !== 5) {
      const first = collections[rng.int(0, collections.length - 1)];
      g.parents.push(first);
      if (rng.chance(0.12)) {
        const second = collections[rng.int(0, collections.length - 1)];
        if (second !== first) g.parents.push(second);
      }
      for (const p of g.parents) {
        p.galleries.push(g);
      }
      g.displayOrder = first.galleries.length + first.collections.length;
    } else {
      lib.roots.push(g);
      g.displayOrder = lib.roots.length;
    }
    galleries.push(g);
    lib.galleries.set(g.id, g);
  }

  for (let i = 0; i < assets; i++) {
    const m = generateMedia(seed, i);
    // Media fill galleries in runs, so galleries look like shoots; some also sit in a second or third one.
    const home = galleries[Math.floor((i / assets) * galleryCount)];
    attach(m, home, m.createdAt);
    if (rng.chance(0.12)) {
      const other = galleries[rng.int(0, galleryCount - 1)];
      if (other !== home) attach(m, other, m.createdAt + rng.int(1, 1_000_000) * 1000);
      if (rng.chance(0.2)) {
        const third = galleries[rng.int(0, galleryCount - 1)];
        if (third !== home && third !== other) attach(m, third, m.createdAt + rng.int(1, 1_000_000) * 1000);
      }
    }
    lib.media.set(m.id, m);
    lib.mediaList.push(m);
  }
  for (const g of galleries) {
    for (const m of g.media) g.modifiedAt = Math.max(g.modifiedAt, g.addedAt.get(m.id) ?? 0);
  }
  return lib;
}

function attach(m: MediaRec, g: GalleryRec, at: number): void {
  g.media.push(m);
  g.addedAt.set(m.id, at);
  m.galleries.push(g);
}

export function generateMedia(seed: number, index: number): MediaRec {
  const rng = new Rng(hash32(seed, 'media', index));
  const kind = kindFor(rng);
  const fileName = fileNameFor(rng, kind, index);
  const dims = sizeFor(rng, kind, fileName);
  const createdAt = timeBetween(rng, EPOCH_START, EPOCH_END);
  const modifiedAt = rng.chance(0.5) ? createdAt : Math.min(EPOCH_END, createdAt + rng.int(1, 90 * 86_400) * 1_000_000 + rng.int(0, 999_999));
  let flags = 0;
  if (rng.chance(0.4)) flags |= FLAG_MODEL_RELEASED;
  if (rng.chance(0.3)) flags |= FLAG_PROPERTY_RELEASED;
  if (rng.chance(0.05)) flags |= FLAG_FLAGGED;
  if (rng.chance(0.7)) flags |= FLAG_SEARCHABLE;
  return {
    id: makeId(PREFIX[kind], seed, index), index, kind, fileName, ...dims,
    rating: rng.chance(0.3) ? null : rng.int(0, 5), flags, createdAt, modifiedAt, version: 1, galleries: [], iptc: null, custom: null,
  };
}

/** The IPTC a medium was generated with (before any write). */
export function generatedIptc(seed: number, m: MediaRec): Iptc {
  const rng = new Rng(hash32(seed, 'iptc', m.index));
  const iptc = emptyIptc();
  const topic = rng.pick(TOPICS);
  const [city, state, country, iso] = rng.pick(PLACES);
  const author = rng.pick(AUTHORS);
  const year = new Date(m.createdAt / 1000).getUTCFullYear();
  iptc.title = `${topic} ${city} ${m.index}`;
  if (rng.chance(0.7)) iptc.headline = `${topic} in ${city}`;
  if (rng.chance(0.8)) iptc.caption = `${topic}: ${rng.pick(KEYWORDS)} and ${rng.pick(KEYWORDS)} in ${city}, ${country}.`;
  if (rng.chance(0.5)) iptc.caption_writer = rng.pick(AUTHORS);
  const kw = new Set<string>();
  const n = rng.int(0, 6);
  for (let i = 0; i < n; i++) kw.add(rng.pick(KEYWORDS));
  if (kw.size > 0) iptc.keywords = [...kw].join(', ');
  if (rng.chance(0.3)) iptc.category = rng.pick(['BUS', 'ENT', 'SPO', 'POL', 'TEC']);
  iptc.author = author;
  if (rng.chance(0.4)) iptc.position = rng.pick(['Staff Photographer', 'Freelancer', 'Agency']);
  iptc.credit = rng.chance(0.8) ? `${author} / Example Corp` : null;
  if (rng.chance(0.5)) iptc.source = 'Example Corp';
  iptc.copyright = `© ${year} Example Corp`;
  if (rng.chance(0.4)) iptc.rights = rng.pick(USAGE);
  if (rng.chance(0.2)) iptc.instructions = 'Not for use before embargo lifts.';
  if (rng.chance(0.2)) iptc.urgency = String(rng.int(1, 8));
  if (rng.chance(0.3)) iptc.edit_status = rng.pick(['Draft', 'Final', 'Approved', 'Retouched']);
  if (rng.chance(0.5)) iptc.location = rng.pick(['Main Hall', 'Rooftop', 'Studio B', 'Harbour']);
  iptc.city = city;
  iptc.state = state;
  iptc.country = country;
  iptc.country_iso = iso;
  if (rng.chance(0.2)) {
    iptc.ci_email = 'photo-desk@example.com';
    iptc.ci_city = city;
    iptc.ci_country = country;
    iptc.ci_url = 'https://example.com/press';
  }
  return iptc;
}

/** The custom field values a medium was generated with (by field id). */
export function generatedCustom(seed: number, m: MediaRec): CustomValues {
  const rng = new Rng(hash32(seed, 'custom', m.index));
  const out: CustomValues = {};
  for (const f of CUSTOM_FIELDS) out[f.id] = null;
  out.F0000APPROVALSTS = rng.weighted<string | null>([['Pending', 50], ['Approved', 35], ['Rejected', 10], [null, 5]]);
  if (rng.chance(0.6)) {
    const d = new Date(Date.UTC(2024, 0, 1) + rng.int(0, 5 * 365) * 86_400_000);
    out.F0000LICENSEEXPR = d.toISOString().slice(0, 10);
  }
  if (rng.chance(0.7)) out.F0000USAGERIGHTS = rng.pick(USAGE);
  if (rng.chance(0.5)) out.F0000CAMPAIGN000 = rng.pick(CAMPAIGNS);
  if (rng.chance(0.5)) out.F0000PROJECTCODE = `PRJ-${String(rng.int(1, 9999)).padStart(4, '0')}`;
  if (rng.chance(0.6)) out.F0000DEPARTMENT0 = rng.pick(['Marketing', 'Communications', 'Sales', 'Product', 'HR']);
  if (rng.chance(0.6)) out.F0000REGION00000 = rng.pick(['EMEA', 'North America', 'LATAM', 'APAC']);
  return out;
}
