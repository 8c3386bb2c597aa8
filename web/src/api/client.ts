// The one place that talks HTTP. Every call sends `Authorization: Bearer <token>` (the session
// token from sessionStorage); an API error answer `{"error": {...}}` becomes an ApiError that
// pages show as it is; a 401 tells the auth layer to go back to the login page.

const TOKEN_KEY = 'sextant.token';

export interface ApiErrorBody {
  code?: number;
  name?: string;
  message?: string;
  field?: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code?: number;
  readonly name: string;
  readonly field?: string;
  readonly path: string;

  constructor(status: number, path: string, body: ApiErrorBody | undefined, fallback: string) {
    super(body?.message || fallback);
    this.status = status;
    this.code = body?.code;
    this.name = body?.name || 'http_error';
    this.field = body?.field;
    this.path = path;
  }
}

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage unavailable: the session lasts as long as the page */
  }
}

let unauthorizedHandler: (() => void) | null = null;

/** The auth layer registers what to do when the server answers 401 to a signed-in call. */
export function onUnauthorized(handler: (() => void) | null): void {
  unauthorizedHandler = handler;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  /** Send this token instead of the session's (login checks a pasted token before storing it). */
  token?: string | null;
  headers?: Record<string, string>;
  /** Do not trigger the go-to-login handler on 401 (the login page itself). */
  noAuthRedirect?: boolean;
  signal?: AbortSignal;
  /** Raw body (text such as CSV, or a File) with this content type. */
  contentType?: string;
}

export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...(opts.headers || {}) };
  const token = opts.token === undefined ? getToken() : opts.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    if (opts.contentType) {
      headers['Content-Type'] = opts.contentType;
      // A file (Blob) is sent as its bytes; anything else as text.
      body = opts.body instanceof Blob ? opts.body : String(opts.body);
    } else {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
  }
  let res: Response;
  try {
    res = await fetch(path, { method: opts.method || 'GET', headers, body, signal: opts.signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, path, undefined, (e as Error).message || 'network error');
  }
  const text = await res.text();
  let json: unknown = undefined;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  if (!res.ok) {
    const errBody = (json as { error?: ApiErrorBody } | undefined)?.error;
    const err = new ApiError(res.status, path, errBody, `HTTP ${res.status} ${res.statusText}`.trim());
    if (res.status === 401 && !opts.noAuthRedirect && unauthorizedHandler) unauthorizedHandler();
    throw err;
  }
  return (json === undefined ? (text as unknown) : json) as T;
}

export const api = {
  get: <T>(path: string, opts?: RequestOptions) => request<T>(path, { ...opts, method: 'GET' }),
  post: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>(path, { ...opts, method: 'POST', body }),
  put: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>(path, { ...opts, method: 'PUT', body }),
  del: <T>(path: string, opts?: RequestOptions) => request<T>(path, { ...opts, method: 'DELETE' }),
};

/** `/api/v1/projects/<p>` with the project name encoded. */
export function projectPath(project: string, rest = ''): string {
  return `/api/v1/projects/${encodeURIComponent(project)}${rest}`;
}

/** Builds `?a=1&b=2` from defined values. */
export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}
