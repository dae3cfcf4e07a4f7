/**
 * What an edit dialog sends to an admin endpoint (Test connection, Test destination): settings that are
 * not deployed yet. Secrets the dialog left unchanged arrive as `__PWRD__` and are taken from the stored
 * credentials; a whole-value `${NAME}` reads the environment, as Node-RED does for deployed nodes.
 */
import type { NodeAPI } from 'node-red';

const SECRET_PLACEHOLDER = '__PWRD__';
const ENV_REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

export function envValue(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const env = ENV_REF.exec(v.trim());
  return env ? process.env[env[1]] : v;
}

/** The dialog's settings, each `${NAME}` read from the environment. */
export function formConfig<T>(config: Record<string, unknown> | undefined): T {
  return Object.fromEntries(Object.entries(config ?? {}).map(([k, v]) => [k, envValue(v)])) as T;
}

/** The dialog's credentials: unchanged ones from the store, `${NAME}` from the environment, empty ones left out. */
export function formCredentials<T extends object>(RED: NodeAPI, id: unknown, given: Record<string, unknown> | undefined, keys: readonly string[]): T {
  const stored = (typeof id === 'string' ? RED.nodes.getCredentials(id) : undefined) as Record<string, unknown> | undefined;
  const out: Record<string, string> = {};
  for (const key of keys) {
    let v = given?.[key];
    if (v === SECRET_PLACEHOLDER || v === undefined || v === '') v = stored?.[key];
    const resolved = envValue(v);
    if (typeof resolved === 'string' && resolved !== '') out[key] = resolved;
  }
  return out as T;
}
