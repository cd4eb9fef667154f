import { queryShardException, unsupported } from './errors';
import { Json, JsonObject, describe, isObject } from './json';
import { FieldInfo } from './mapping';
import { DEFAULT_DATE_FORMAT, extractValues, parseDate, parseDateMath, tokenize } from './values';

export interface DocView {
  id: string;
  source: JsonObject;
  generation: number;
}

/** What queries and sorts need to know about the index they run on. */
export interface FieldContext {
  mapping: JsonObject;
  index: string;
  now: number;
  fieldGeneration: (key: string) => number;
}

export type Family = 'keyword' | 'text' | 'number' | 'date' | 'boolean';
export type Scalar = string | number | boolean;

/** A mapped, searchable field with the typing rules needed to compare values. */
export interface TypedField {
  family: Family;
  path: string;
  isId: boolean;
  integer: boolean;
  dateFormat: string;
  ignoreAbove: number;
  fielddata: boolean;
  generation: number;
}

const FAMILIES: Record<string, Family> = {
  keyword: 'keyword',
  constant_keyword: 'keyword',
  wildcard: 'keyword',
  text: 'text',
  match_only_text: 'text',
  long: 'number',
  integer: 'number',
  short: 'number',
  byte: 'number',
  unsigned_long: 'number',
  double: 'number',
  float: 'number',
  half_float: 'number',
  scaled_float: 'number',
  date: 'date',
  date_nanos: 'date',
  boolean: 'boolean',
};

const INTEGER_TYPES = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long']);

/** Null when the field is unmapped (ES matches no document on unmapped fields). */
export function typedField (info: FieldInfo, ctx: FieldContext): TypedField | null {
  const index = ctx.index;
  if (info.kind === 'id') {
    return {
      family: 'keyword', path: '_id', isId: true, integer: false,
      dateFormat: DEFAULT_DATE_FORMAT, ignoreAbove: Infinity, fielddata: false, generation: 0,
    };
  }
  if (info.kind !== 'leaf') {
    return null;
  }
  const family = Object.prototype.hasOwnProperty.call(FAMILIES, info.type) ? FAMILIES[info.type] : undefined;
  if (family === undefined) {
    throw unsupported(`queries or sorts on field [${info.path}] of type [${info.type}]`);
  }
  const params = info.params;
  if (params.index === false || params.index === 'false') {
    throw queryShardException(`Cannot search on field [${info.path}] since it is not indexed.`, index);
  }
  if (params.normalizer !== undefined) {
    throw unsupported(`normalizers (field [${info.path}])`);
  }
  for (const key of ['analyzer', 'search_analyzer']) {
    const analyzer = params[key];
    if (analyzer !== undefined && analyzer !== 'standard') {
      throw unsupported(`analyzer [${String(analyzer)}] (field [${info.path}]): only the standard analyzer is emulated`);
    }
  }
  return {
    family,
    path: info.path,
    isId: false,
    integer: INTEGER_TYPES.has(info.type),
    dateFormat: typeof params.format === 'string' ? params.format : DEFAULT_DATE_FORMAT,
    ignoreAbove: typeof params.ignore_above === 'number' ? params.ignore_above : Infinity,
    fielddata: params.fielddata === true,
    generation: ctx.fieldGeneration(info.key),
  };
}

/** Indexed values of a field for one document, typed like the ES index would hold them. */
export function docValues (doc: DocView, field: TypedField): Scalar[] {
  if (doc.generation < field.generation) {
    return [];
  }
  const raw: Json[] = field.isId ? [doc.id] : extractValues(doc.source, field.path);
  const out: Scalar[] = [];
  for (const value of raw) {
    if (value === null || isObject(value) || Array.isArray(value)) {
      continue;
    }
    switch (field.family) {
      case 'keyword': {
        const text = String(value);
        if (text.length <= field.ignoreAbove) {
          out.push(text);
        }
        break;
      }
      case 'text':
        out.push(...tokenize(String(value)));
        break;
      case 'number': {
        const n = typeof value === 'number' ? value : Number(value);
        if (typeof value !== 'boolean' && Number.isFinite(n)) {
          out.push(field.integer ? Math.trunc(n) : n);
        }
        break;
      }
      case 'date': {
        const time = parseDate(value, field.dateFormat);
        if (time !== null) {
          out.push(time);
        }
        break;
      }
      case 'boolean':
        if (value === true || value === 'true') {
          out.push(true);
        }
        else if (value === false || value === 'false' || value === '') {
          out.push(false);
        }
        break;
    }
  }
  return out;
}

/** Converts a query-side value to the field's domain, failing like ES on bad input. */
export function queryValue (field: TypedField, value: Json, index: string, now: number): Scalar {
  if (value === null || typeof value === 'object') {
    throw queryShardException(`failed to create query: value ${describe(value)} is not a scalar`, index);
  }
  switch (field.family) {
    case 'keyword':
    case 'text':
      return String(value);
    case 'number': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      if (!Number.isFinite(n)) {
        throw queryShardException(`failed to create query: For input string: "${String(value)}"`, index);
      }
      return n;
    }
    case 'date': {
      const time = typeof value === 'string'
        ? parseDateMath(value, now) ?? parseDate(value, field.dateFormat)
        : parseDate(value, field.dateFormat);
      if (time === null) {
        throw queryShardException(`failed to parse date field [${String(value)}] with format [${field.dateFormat}]`, index);
      }
      return time;
    }
    case 'boolean':
      if (value === true || value === 'true') {
        return true;
      }
      if (value === false || value === 'false') {
        return false;
      }
      throw queryShardException(`Can't parse boolean value [${String(value)}], expected [true] or [false]`, index);
  }
}

export function compareScalars (a: Scalar, b: Scalar): number {
  if (typeof a === 'number' && typeof b === 'number') {
    return a - b;
  }
  if (typeof a === 'boolean' && typeof b === 'boolean') {
    return Number(a) - Number(b);
  }
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}
