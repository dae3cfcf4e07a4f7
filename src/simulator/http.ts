// Request context, replies and API errors shared by every route.
import type { IncomingHttpHeaders } from 'node:http';

/** Random-access bytes: `read` returns up to `max` bytes at `offset`, ideally a view without copying. */
export interface ByteSource {
  length: number;
  read(offset: number, max: number): Buffer;
}

export interface Reply {
  status: number;
  headers: Record<string, string | number>;
  body: ByteSource;
}

export interface RateInfo {
  limit: number;
  current: number;
  expires: number;
}

export interface Identity {
  kind: 'session' | 'oauth';
  token: string;
  userId: string;
}

export interface Ctx {
  method: string;
  /** Path below the API base, e.g. `/media/I0000abc`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** `http://host:port`, as the client addressed us. */
  origin: string;
  rate: RateInfo;
  params: Record<string, string>;
  /** Results reachable by paging (page × per_page); 0 = no limit. */
  maxDepth?: number;
}

export function bufferSource(buf: Buffer): ByteSource {
  return { length: buf.length, read: (offset, max) => buf.subarray(offset, offset + max) };
}

export function jsonReply(status: number, value: unknown, headers: Record<string, string | number> = {}): Reply {
  const buf = Buffer.from(JSON.stringify(value));
  return { status, headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers }, body: bufferSource(buf) };
}

export const TITLES: Record<string, string> = {
  ApiKeyInvalidException: 'Missing or invalid API key',
  AcsPermissionException: 'Invalid access to resource',
  AuthenticationFailedException: 'Authentication failed',
  OAuthServerException: 'OAuth error',
  ResourceNotFoundException: 'Resource not found',
  BadRequestException: 'Bad Request / Syntax',
  TooManyRequestsException: 'Too many requests',
  MethodNotAllowedException: 'Method not allowed',
  InternalServerErrorException: 'Internal server error',
  BadGatewayException: 'Bad gateway',
  ServiceUnavailableException: 'Service unavailable',
  GatewayTimeoutException: 'Gateway timeout',
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorId: string,
    detail: string,
    readonly headers: Record<string, string | number> = {},
  ) {
    super(detail);
  }
}

export const badRequest = (detail: string): ApiError => new ApiError(400, 'BadRequestException', detail);
export const notFound = (what: string, id: string): ApiError => new ApiError(404, 'ResourceNotFoundException', `${what} '${id}' was not found.`);

export function errorIdForStatus(status: number): string {
  switch (status) {
    case 400: return 'BadRequestException';
    case 401: return 'AcsPermissionException';
    case 403: return 'AcsPermissionException';
    case 404: return 'ResourceNotFoundException';
    case 429: return 'TooManyRequestsException';
    case 502: return 'BadGatewayException';
    case 503: return 'ServiceUnavailableException';
    case 504: return 'GatewayTimeoutException';
    default: return 'InternalServerErrorException';
  }
}

export function errorReply(err: ApiError): Reply {
  const body = { errors: [{ id: err.errorId, status: String(err.status), title: TITLES[err.errorId] ?? 'Error', detail: err.message }] };
  return jsonReply(err.status, body, err.headers);
}

/** Reads a form-urlencoded or JSON body into string fields. */
export function formFields(ctx: Ctx): Record<string, string> {
  const type = String(ctx.headers['content-type'] ?? '');
  const text = ctx.body.toString('utf8');
  const out: Record<string, string> = {};
  if (type.includes('application/json')) {
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      throw badRequest('Body is not valid JSON.');
    }
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      for (const [k, v] of Object.entries(parsed)) if (v !== null && v !== undefined) out[k] = String(v);
    }
    return out;
  }
  for (const [k, v] of new URLSearchParams(text)) out[k] = v;
  return out;
}

export function jsonBody(ctx: Ctx): unknown {
  const text = ctx.body.toString('utf8');
  if (text.trim() === '') throw badRequest('A JSON body is required.');
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('Body is not valid JSON.');
  }
}
