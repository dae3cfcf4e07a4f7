import { ValidationError } from './errors';

export const ID_PATTERNS = {
  media: /^(I0|VD|AD|DO)000[a-zA-Z0-9._]{11}$/,
  gallery: /^G0000[a-zA-Z0-9._]{11}$/,
  collection: /^C0000[a-zA-Z0-9._]{11}$/,
  organization: /^O0000[a-zA-Z0-9._]{11}$/,
  user: /^U0000[a-zA-Z0-9._]{11}$/,
  customField: /^F0000[a-zA-Z0-9._]{11}$/,
  apiKey: /^[a-zA-Z0-9._]{11}$/,
} as const;

export type IdKind = keyof typeof ID_PATTERNS;

const LABEL: Record<IdKind, string> = {
  media: 'media id (16 characters starting I0000, VD000, AD000 or DO000)',
  gallery: 'gallery id (16 characters starting G0000)',
  collection: 'collection id (16 characters starting C0000)',
  organization: 'organization id (16 characters starting O0000)',
  user: 'user id (16 characters starting U0000)',
  customField: 'custom field id (16 characters starting F0000)',
  apiKey: 'API key (11 letters, digits, dots or underscores)',
};

export function isId(kind: IdKind, value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERNS[kind].test(value);
}

/** Throws a ValidationError before any request is made. The value is echoed except for API keys. */
export function assertId(kind: IdKind, value: unknown, what?: string): string {
  if (isId(kind, value)) return value;
  const shown = kind === 'apiKey' ? '' : ` ${JSON.stringify(typeof value === 'string' ? value.slice(0, 40) : value ?? null)}`;
  throw new ValidationError(`${what ?? 'Value'}${shown} is not a valid ${LABEL[kind]}`);
}
