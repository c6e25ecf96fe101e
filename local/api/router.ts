// Matches a request path against the API's resource templates the way API Gateway does (literal beats parameter).
import type { OperationSpec } from './model.js';

export interface RouteMatch {
  readonly operation: OperationSpec;
  readonly pathParameters: Readonly<Record<string, string>>;
}

interface CompiledRoute {
  readonly operation: OperationSpec;
  readonly regex: RegExp;
  readonly names: readonly string[];
  /** Sort key: more literal segments first, greedy proxies last. */
  readonly rank: number;
}

function compile(operation: OperationSpec): CompiledRoute {
  const names: string[] = [];
  let literals = 0;
  let greedy = false;
  const segments = operation.resourcePath.split('/').filter((s) => s !== '');
  const pattern = segments
    .map((segment) => {
      const param = /^\{([^}+]+)(\+)?\}$/.exec(segment);
      if (!param?.[1]) {
        literals++;
        return `/${segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
      }
      names.push(param[1]);
      if (param[2]) {
        greedy = true;
        return '/(.+)';
      }
      return '/([^/]+)';
    })
    .join('');
  return {
    operation,
    regex: new RegExp(`^${pattern || '/'}$`),
    names,
    rank: (greedy ? 0 : 1_000_000) + literals * 1_000 + segments.length,
  };
}

/** Resolves method + path to an operation; `undefined` is API Gateway's "Missing Authentication Token". */
export class Router {
  private readonly routes: CompiledRoute[];

  constructor(operations: readonly OperationSpec[]) {
    this.routes = operations.map(compile).sort((a, b) => b.rank - a.rank);
  }

  match(method: string, path: string): RouteMatch | undefined {
    const m = method.toUpperCase();
    const normalized = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    let anyMatch: RouteMatch | undefined;
    for (const route of this.routes) {
      if (route.operation.method !== m && route.operation.method !== 'ANY') continue;
      const hit = route.regex.exec(normalized);
      if (!hit) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => {
        const raw = hit[i + 1] ?? '';
        try {
          params[name] = decodeURIComponent(raw);
        } catch {
          params[name] = raw;
        }
      });
      const match = { operation: route.operation, pathParameters: params };
      // An explicit method on the same resource wins over ANY.
      if (route.operation.method === m) return match;
      anyMatch ??= match;
    }
    return anyMatch;
  }
}
