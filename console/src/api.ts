// The API as the console calls it: `config.apiUrl` + path, the person's access token as the only credential, and the
// API's one error shape turned into an ApiError that pages show in role=alert.
import { useCallback, useEffect, useRef, useState } from 'react';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface Api {
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
}

interface ErrorJson {
  error?: { code?: string; message?: string };
  message?: string;
  requestId?: string;
}

/** `tokenOf` gives the current access token; `renew` is asked once for a fresh one when the API answers 401. */
export function createApi(
  apiUrl: string,
  tokenOf: () => string | undefined,
  renew: () => Promise<string | undefined>,
): Api {
  async function send<T>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
    const token = tokenOf();
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${apiUrl}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (response.status === 401 && !retried && (await renew())) return send<T>(method, path, body, true);
    if (!response.ok) {
      const e = (json ?? {}) as ErrorJson;
      throw new ApiError(
        response.status,
        e.error?.code ?? `http_${response.status}`,
        e.error?.message ?? e.message ?? (text.slice(0, 300) || response.statusText),
        e.requestId,
      );
    }
    return json as T;
  }
  return {
    get<T>(path: string, query: Record<string, string | number | undefined> = {}) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
      const qs = params.toString();
      return send<T>('GET', qs ? `${path}?${qs}` : path);
    },
    post<T>(path: string, body: unknown) {
      return send<T>('POST', path, body);
    },
  };
}

export interface Loaded<T> {
  readonly data?: T;
  readonly error?: unknown;
  readonly loading: boolean;
  reload(): void;
}

/** Runs `load` when `key` changes (and on reload); keeps the last data while a reload runs. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const loader = useRef(load);
  loader.current = load;
  // biome-ignore lint/correctness/useExhaustiveDependencies: key and tick say when to load again
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    loader.current().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState((s) => ({ ...s, error, loading: false })),
    );
    return () => {
      live = false;
    };
  }, [key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** A path segment, encoded. */
export const seg = (value: string): string => encodeURIComponent(value);

export interface Action {
  readonly busy: boolean;
  /** What the last action did, in words (shown in role=status). */
  readonly result: string;
  readonly error?: unknown;
  /** Runs `act`, whose answer is the result's words; an error is kept for role=alert, never swallowed. */
  run(act: () => Promise<string>): Promise<void>;
  fail(error: unknown): void;
}

/** One button's worth of state: busy while it runs, then its result or its error. */
export function useAction(): Action {
  const [state, setState] = useState<{ busy: boolean; result: string; error?: unknown }>({ busy: false, result: '' });
  const run = useCallback(async (act: () => Promise<string>) => {
    setState({ busy: true, result: '' });
    try {
      setState({ busy: false, result: await act() });
    } catch (error) {
      setState({ busy: false, result: '', error });
    }
  }, []);
  const fail = useCallback((error: unknown) => setState({ busy: false, result: '', error }), []);
  return { ...state, run, fail };
}
