import { EsError, illegalArgument, unsupported } from './errors';
import { Json, JsonObject } from './json';
import { SourceFilter, parseSourceParams } from './source-filter';
import { ResolveOptions, Store, WildcardState } from './store';
import { ScrollRegistry } from './search';
import { parseTimeValue } from './values';

export interface Reply {
  status: number;
  body: Json;
}

export interface Ctx {
  method: string;
  path: string;
  /** Decoded `{placeholder}` segments of the route pattern. */
  vars: Record<string, string>;
  params: Params;
  body: Json | undefined;
  rawBody: string;
  store: Store;
  scrolls: ScrollRegistry;
}

export type BodyKind = 'none' | 'json' | 'ndjson';

export interface Route {
  methods: string[];
  pattern: string;
  /** Accepted query-string parameters; anything else answers 400. */
  params: string[];
  body: BodyKind;
  handler: (ctx: Ctx) => Reply;
}

const GLOBAL_PARAMS = ['pretty', 'human', 'error_trace'];

export class Params {
  constructor (private readonly query: URLSearchParams) {}

  check (accepted: string[], endpoint: string): void {
    for (const name of this.query.keys()) {
      if (!accepted.includes(name) && !GLOBAL_PARAMS.includes(name)) {
        throw unsupported(`parameter [${name}] on [${endpoint}]`);
      }
    }
  }

  str (name: string): string | undefined {
    return this.query.get(name) ?? undefined;
  }

  has (name: string): boolean {
    return this.query.has(name);
  }

  bool (name: string, fallback: boolean): boolean {
    const value = this.query.get(name);
    if (value === null) {
      return fallback;
    }
    if (value === '' || value === 'true') {
      return true;
    }
    if (value === 'false') {
      return false;
    }
    throw illegalArgument(`Failed to parse value [${value}] as only [true] or [false] are allowed.`);
  }

  int (name: string): number | undefined {
    const value = this.query.get(name);
    if (value === null) {
      return undefined;
    }
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n)) {
      throw illegalArgument(`Failed to parse int parameter [${name}] with value [${value}]`);
    }
    return n;
  }

  time (name: string): number | undefined {
    const value = this.query.get(name);
    return value === null ? undefined : parseTimeValue(value, name);
  }

  oneOf<T extends string> (name: string, allowed: readonly T[], fallback: T): T {
    const value = this.query.get(name);
    if (value === null) {
      return fallback;
    }
    const found = allowed.find(a => a === value);
    if (found === undefined) {
      throw unsupported(`value [${value}] for parameter [${name}] (supported: ${allowed.join(', ')})`);
    }
    return found;
  }

  /** refresh=true|false|wait_for: everything is visible at once, so only `forced_refresh` differs. */
  forcedRefresh (): boolean {
    const value = this.query.get('refresh');
    if (value === null || value === 'false' || value === 'wait_for') {
      return false;
    }
    if (value === '' || value === 'true') {
      return true;
    }
    throw illegalArgument(`Unknown value for refresh: [${value}].`);
  }

  resolveOptions (defaults: ResolveOptions): ResolveOptions {
    const expand = this.query.get('expand_wildcards');
    let states = defaults.expandWildcards;
    if (expand !== null) {
      states = new Set<WildcardState>();
      for (const part of expand.split(',')) {
        if (part === 'all') {
          states.add('open');
          states.add('closed');
        }
        else if (part === 'open' || part === 'closed') {
          states.add(part);
        }
        else if (part !== 'none' && part !== 'hidden') {
          throw illegalArgument(`No enum constant org.elasticsearch.action.support.IndicesOptions.WildcardStates.${part.toUpperCase()}`);
        }
      }
    }
    return {
      ignoreUnavailable: this.bool('ignore_unavailable', defaults.ignoreUnavailable),
      allowNoIndices: this.bool('allow_no_indices', defaults.allowNoIndices),
      expandWildcards: states,
    };
  }

  sourceFilter (): SourceFilter | undefined {
    return parseSourceParams(
      this.str('_source'),
      this.str('_source_includes') ?? this.str('_source_include'),
      this.str('_source_excludes') ?? this.str('_source_exclude'));
  }
}

export const SOURCE_PARAMS = ['_source', '_source_includes', '_source_include', '_source_excludes', '_source_exclude'];
export const INDICES_OPTIONS = ['ignore_unavailable', 'allow_no_indices', 'expand_wildcards'];
export const WRITE_PARAMS = ['refresh', 'timeout', 'wait_for_active_shards', 'require_alias'];

function decodeSegment (segment: string): string {
  try {
    return decodeURIComponent(segment);
  }
  catch {
    throw illegalArgument(`invalid URL encoding in path segment [${segment}]`);
  }
}

function matchPattern (pattern: string, segments: string[]): Record<string, string> | null {
  const parts = pattern.split('/').filter(p => p !== '');
  if (parts.length !== segments.length) {
    return null;
  }
  const vars: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const segment = decodeSegment(segments[i]);
    if (part.startsWith('{')) {
      const name = part.slice(1, -1);
      // `{index}` never captures reserved `_endpoint` names, except `_all`.
      if (segment === '' || (name === 'index' && segment.startsWith('_') && segment !== '_all')) {
        return null;
      }
      vars[name] = segment;
    }
    else if (part !== segment) {
      return null;
    }
  }
  return vars;
}

export interface RouteMatch {
  route: Route;
  vars: Record<string, string>;
}

export function findRoute (routes: Route[], method: string, path: string): RouteMatch {
  const segments = path.split('/').filter(p => p !== '');
  const allowed = new Set<string>();
  for (const route of routes) {
    const vars = matchPattern(route.pattern, segments);
    if (vars === null) {
      continue;
    }
    if (route.methods.includes(method)) {
      return { route, vars };
    }
    route.methods.forEach(m => allowed.add(m));
  }
  if (allowed.size > 0) {
    throw new MethodNotAllowed(path, method, [...allowed]);
  }
  throw unsupported(`endpoint [${method} ${path}]`);
}

/** ES answers a known path with a wrong method with a bare 405 (not the usual error object). */
export class MethodNotAllowed extends EsError {
  constructor (path: string, method: string, allowed: string[]) {
    super(405, 'method_not_allowed', `Incorrect HTTP method for uri [${path}] and method [${method}], allowed: [${allowed.join(', ')}]`);
  }

  toBody (): JsonObject {
    return { error: this.reason, status: 405 };
  }
}
