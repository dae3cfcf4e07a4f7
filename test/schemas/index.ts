// The project's JSON schemas for the v4 wire format, loaded into one Ajv instance.
// Validate with `schemaValidator('media')(value)`; schema ids are `https://shelterflow.example/schemas/<name>.schema.json`.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';

export const SCHEMA_NAMES = [
  'envelope', 'resource', 'media', 'iptc', 'custom-metadata', 'collection', 'gallery', 'paging-meta', 'error',
  'meta', 'list', 'child-count', 'cover', 'key-image', 'metadata', 'metadata-raw',
] as const;
export type SchemaName = (typeof SCHEMA_NAMES)[number];

let ajv: Ajv | undefined;

export function schemaAjv(): Ajv {
  if (ajv) return ajv;
  ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strictTypes: false });
  ajv.addFormat('uri', (s: string) => URL.canParse(s));
  for (const f of readdirSync(__dirname).filter((x) => x.endsWith('.schema.json'))) {
    ajv.addSchema(JSON.parse(readFileSync(join(__dirname, f), 'utf8')));
  }
  return ajv;
}

export function schemaValidator(name: SchemaName): ValidateFunction {
  const v = schemaAjv().getSchema(`https://shelterflow.example/schemas/${name}.schema.json`);
  if (!v) throw new Error(`no schema named ${name}`);
  return v;
}

/** Throws with Ajv's message when `value` does not match. */
export function assertSchema(name: SchemaName, value: unknown): void {
  const v = schemaValidator(name);
  if (!v(value)) throw new Error(`${name}: ${schemaAjv().errorsText(v.errors)}`);
}
