import { parsingException } from './errors';
import { Json, JsonObject, describe, isObject } from './json';

export interface SourceFilter {
  enabled: boolean;
  includes: string[];
  excludes: string[];
}

export const FULL_SOURCE: SourceFilter = { enabled: true, includes: [], excludes: [] };

function stringList (value: Json, what: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map(item => {
    if (typeof item !== 'string') {
      throw parsingException(`[${what}] expected a string or an array of strings but found ${describe(item)}`);
    }
    return item;
  });
}

/** `_source` as found in a search/mget/update body. */
export function parseSourceBody (value: Json | undefined): SourceFilter | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value === 'boolean') {
    return { enabled: value, includes: [], excludes: [] };
  }
  if (typeof value === 'string' || Array.isArray(value)) {
    return { enabled: true, includes: stringList(value, '_source'), excludes: [] };
  }
  const filter: SourceFilter = { enabled: true, includes: [], excludes: [] };
  for (const [key, item] of Object.entries(value)) {
    if (key === 'includes' || key === 'include') {
      filter.includes = stringList(item, `_source.${key}`);
    }
    else if (key === 'excludes' || key === 'exclude') {
      filter.excludes = stringList(item, `_source.${key}`);
    }
    else {
      throw parsingException(`Unknown key for a START_OBJECT in [_source]: [${key}]`);
    }
  }
  return filter;
}

/** `_source`, `_source_includes`, `_source_excludes` query parameters. */
export function parseSourceParams (
  source: string | undefined,
  includes: string | undefined,
  excludes: string | undefined,
): SourceFilter | undefined {
  if (source === undefined && includes === undefined && excludes === undefined) {
    return undefined;
  }
  const filter: SourceFilter = { enabled: true, includes: [], excludes: [] };
  if (source === 'false') {
    filter.enabled = false;
  }
  else if (source !== undefined && source !== 'true' && source !== '') {
    filter.includes = source.split(',');
  }
  if (includes !== undefined) {
    filter.includes = includes.split(',');
  }
  if (excludes !== undefined) {
    filter.excludes = excludes.split(',');
  }
  return filter;
}

function toRegex (pattern: string): RegExp {
  const escaped = pattern.split('*').map(part => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${escaped}$`);
}

/** Returns the filtered source, or undefined when _source is disabled. */
export function applySourceFilter (source: JsonObject, filter: SourceFilter): JsonObject | undefined {
  if (!filter.enabled) {
    return undefined;
  }
  if (filter.includes.length === 0 && filter.excludes.length === 0) {
    return source;
  }
  const includes = filter.includes.map(toRegex);
  const excludes = filter.excludes.map(toRegex);
  return filterObject(source, '', includes, excludes, includes.length === 0);
}

function filterObject (obj: JsonObject, prefix: string, inc: RegExp[], exc: RegExp[], included: boolean): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const kept = filterValue(value, path, inc, exc, included);
    if (kept !== undefined) {
      out[key] = kept;
    }
  }
  return out;
}

function filterValue (value: Json, path: string, inc: RegExp[], exc: RegExp[], parentIncluded: boolean): Json | undefined {
  if (exc.some(re => re.test(path))) {
    return undefined;
  }
  const included = parentIncluded || inc.some(re => re.test(path));
  if (isObject(value)) {
    const filtered = filterObject(value, path, inc, exc, included);
    return included || Object.keys(filtered).length > 0 ? filtered : undefined;
  }
  if (Array.isArray(value)) {
    const items: Json[] = [];
    for (const item of value) {
      if (isObject(item)) {
        const filtered = filterObject(item, path, inc, exc, included);
        if (included || Object.keys(filtered).length > 0) {
          items.push(filtered);
        }
      }
      else if (included) {
        items.push(item);
      }
    }
    return included || items.length > 0 ? items : undefined;
  }
  return included ? value : undefined;
}
