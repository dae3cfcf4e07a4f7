// IPTC vocabulary and the account's custom fields, with write validation.
import { isCalendarDate } from './clock';

export const IPTC_FIELDS = [
  'title', 'headline', 'caption', 'caption_writer', 'keywords', 'category', 'genre', 'scene', 'subject_code',
  'author', 'position', 'credit', 'source', 'copyright', 'rights', 'web_statement', 'instructions', 'urgency',
  'edit_status', 'trans_ref', 'location', 'city', 'state', 'country', 'country_iso',
  'ci_address', 'ci_city', 'ci_region', 'ci_postal_code', 'ci_country', 'ci_phone', 'ci_email', 'ci_url',
] as const;

export type IptcField = (typeof IPTC_FIELDS)[number];
export type Iptc = Record<IptcField, string | null>;

const IPTC_SET: ReadonlySet<string> = new Set(IPTC_FIELDS);

export function emptyIptc(): Iptc {
  const out = {} as Iptc;
  for (const f of IPTC_FIELDS) out[f] = null;
  return out;
}

export type CustomFieldType = 'text' | 'date' | 'select';

export interface CustomFieldDef {
  id: string;
  name: string;
  type: CustomFieldType;
  options?: readonly string[];
}

export const CUSTOM_FIELDS: readonly CustomFieldDef[] = [
  { id: 'F0000APPROVALSTS', name: 'Approval Status', type: 'select', options: ['Pending', 'Approved', 'Rejected'] },
  { id: 'F0000LICENSEEXPR', name: 'License Expiration Date', type: 'date' },
  { id: 'F0000USAGERIGHTS', name: 'Usage Rights', type: 'text' },
  { id: 'F0000CAMPAIGN000', name: 'Campaign', type: 'text' },
  { id: 'F0000PROJECTCODE', name: 'Project Code', type: 'text' },
  { id: 'F0000DEPARTMENT0', name: 'Department', type: 'select', options: ['Marketing', 'Communications', 'Sales', 'Product', 'HR'] },
  { id: 'F0000REGION00000', name: 'Region', type: 'select', options: ['EMEA', 'North America', 'LATAM', 'APAC'] },
];

/** Values keyed by field id; `null` = never set / cleared. */
export type CustomValues = Record<string, string | null>;

export function customFieldByKey(key: string): CustomFieldDef | undefined {
  return CUSTOM_FIELDS.find((f) => f.id === key) ?? CUSTOM_FIELDS.find((f) => f.name.toLowerCase() === key.toLowerCase());
}

export class FieldError extends Error {
  constructor(readonly field: string, detail: string) {
    super(detail);
  }
}

const MAX_TEXT = 2000;

/** Validates an IPTC patch and returns it normalized (keywords as one comma-separated string). */
export function validateIptcPatch(input: unknown): Partial<Iptc> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new FieldError('body', 'Body must be a JSON object of IPTC fields.');
  }
  const out: Partial<Iptc> = {};
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    if (!IPTC_SET.has(key)) throw new FieldError(key, `Unknown IPTC field '${key}'.`);
    const field = key as IptcField;
    if (value === null) {
      out[field] = null;
    } else if (field === 'keywords' && Array.isArray(value)) {
      if (!value.every((k) => typeof k === 'string')) throw new FieldError(key, `Field 'keywords' must be a string or an array of strings.`);
      out[field] = value.map((k: string) => k.trim()).filter((k) => k !== '').join(', ');
    } else if (field === 'urgency' && (typeof value === 'number' || typeof value === 'string')) {
      const s = String(value).trim();
      if (s !== '' && !/^[0-8]$/.test(s)) throw new FieldError(key, `Field 'urgency' must be a digit 0-8.`);
      out[field] = s === '' ? null : s;
    } else if (typeof value === 'string') {
      if (value.length > MAX_TEXT) throw new FieldError(key, `Field '${key}' is longer than ${MAX_TEXT} characters.`);
      out[field] = value;
    } else {
      throw new FieldError(key, `Field '${key}' must be a string or null, got ${Array.isArray(value) ? 'array' : typeof value}.`);
    }
  }
  return out;
}

/** Validates `[{field_id, value}]` (or `{custom_metadata: [...]}`); returns values keyed by field id. */
export function validateCustomPatch(input: unknown): CustomValues {
  let items: unknown = input;
  if (items !== null && typeof items === 'object' && !Array.isArray(items) && 'custom_metadata' in items) {
    items = (items as { custom_metadata: unknown }).custom_metadata;
  }
  if (!Array.isArray(items)) throw new FieldError('body', 'Body must be a JSON array of {field_id, value}.');
  const out: CustomValues = {};
  items.forEach((item: unknown, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new FieldError(`[${i}]`, `Item ${i} must be an object {field_id, value}.`);
    const rec = item as Record<string, unknown>;
    const fieldId = rec.field_id;
    if (typeof fieldId !== 'string') throw new FieldError(`[${i}].field_id`, `Item ${i} needs a string 'field_id'.`);
    const def = CUSTOM_FIELDS.find((f) => f.id === fieldId);
    if (!def) throw new FieldError(fieldId, `Unknown custom field '${fieldId}'.`);
    if (!('value' in rec)) throw new FieldError(fieldId, `Item for '${fieldId}' (${def.name}) needs a 'value'.`);
    out[def.id] = validateCustomValue(def, rec.value);
  });
  return out;
}

export function validateCustomValue(def: CustomFieldDef, value: unknown): string | null {
  if (value === null) return null;
  if (typeof value !== 'string') throw new FieldError(def.id, `Custom field '${def.name}' (${def.id}) must be a string or null.`);
  if (def.type === 'date') {
    if (value === '') return null;
    if (!isCalendarDate(value)) throw new FieldError(def.id, `Custom field '${def.name}' (${def.id}) must be a date YYYY-MM-DD, got '${value}'.`);
  } else if (def.type === 'select') {
    if (value === '') return null;
    if (!def.options?.includes(value)) {
      throw new FieldError(def.id, `Custom field '${def.name}' (${def.id}) must be one of ${def.options?.join(', ')}; got '${value}'.`);
    }
  } else if (value.length > MAX_TEXT) {
    throw new FieldError(def.id, `Custom field '${def.name}' (${def.id}) is longer than ${MAX_TEXT} characters.`);
  }
  return value;
}
