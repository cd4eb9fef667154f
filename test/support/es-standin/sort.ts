import { illegalArgument, parsingException, queryShardException, unsupported } from './errors';
import { DocView, FieldContext, Scalar, TypedField, compareScalars, docValues, queryValue, typedField } from './field-values';
import { Json, JsonObject, asList, describe, isObject } from './json';
import { resolveField } from './mapping';

type Mode = 'min' | 'max' | 'avg' | 'sum' | 'median';

export interface SortKey {
  kind: 'score' | 'doc' | 'field';
  field: string;
  order: 1 | -1;
  missing: Json;
  mode: Mode | undefined;
  unmappedType: string | undefined;
}

export type SortValue = Scalar | null;

/** Parses `sort` from a search body, or the `sort=a:desc,b` query-string form. */
export function parseSort (body: Json | undefined, param: string | undefined): SortKey[] {
  if (body !== undefined && body !== null) {
    return asList(body).map(parseSortEntry);
  }
  if (param !== undefined && param !== '') {
    return param.split(',').map(part => {
      const [field, order] = part.split(':');
      return parseSortEntry(order === undefined ? field : { [field]: order });
    });
  }
  return [];
}

function parseOrder (value: Json): 1 | -1 {
  const text = String(value).toLowerCase();
  if (text !== 'asc' && text !== 'desc') {
    throw illegalArgument(`Unknown SortOrder [${String(value)}]`);
  }
  return text === 'asc' ? 1 : -1;
}

function parseSortEntry (entry: Json): SortKey {
  if (typeof entry === 'string') {
    return makeKey(entry, undefined, {});
  }
  if (!isObject(entry) || Object.keys(entry).length !== 1) {
    throw parsingException(`[sort] malformed sort entry ${describe(entry)}`);
  }
  const [field, spec] = Object.entries(entry)[0];
  if (typeof spec === 'string') {
    return makeKey(field, parseOrder(spec), {});
  }
  if (!isObject(spec)) {
    throw parsingException(`[sort] malformed sort entry ${describe(entry)}`);
  }
  for (const key of Object.keys(spec)) {
    if (!['order', 'missing', 'mode', 'unmapped_type'].includes(key)) {
      throw unsupported(`sort option [${key}] (field [${field}])`);
    }
  }
  return makeKey(field, spec.order === undefined ? undefined : parseOrder(spec.order), spec);
}

function makeKey (field: string, order: 1 | -1 | undefined, spec: JsonObject): SortKey {
  const kind = field === '_score' ? 'score' : field === '_doc' ? 'doc' : 'field';
  const mode = spec.mode;
  if (mode !== undefined && !['min', 'max', 'avg', 'sum', 'median'].includes(String(mode))) {
    throw illegalArgument(`Unknown SortMode [${String(mode)}]`);
  }
  return {
    kind,
    field,
    order: order ?? (kind === 'score' ? -1 : 1),
    missing: spec.missing ?? '_last',
    mode: mode === undefined ? undefined : (String(mode) as Mode),
    unmappedType: typeof spec.unmapped_type === 'string' ? spec.unmapped_type : undefined,
  };
}

export type SortContext = FieldContext;

type Extractor = (doc: DocView, score: number, order: number) => SortValue;

/** Resolves sort fields against an index mapping, failing like ES on bad fields. */
export function compileSort (keys: SortKey[], ctx: SortContext): Extractor[] {
  return keys.map(key => {
    if (key.kind === 'score') {
      return (_doc, score) => score;
    }
    if (key.kind === 'doc') {
      return (_doc, _score, order) => order;
    }
    const info = resolveField(ctx.mapping, key.field);
    if (info.kind === 'object') {
      throw unsupported(`sorting on object field [${key.field}]`);
    }
    const field = typedField(info, ctx);
    if (field === null) {
      if (key.unmappedType === undefined) {
        throw queryShardException(`No mapping found for [${key.field}] in order to sort on`, ctx.index);
      }
      return () => null;
    }
    if (field.family === 'text' && !field.fielddata) {
      throw illegalArgument(
        `Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [${key.field}] in order to load field data by uninverting the inverted index. Note that this can use significant memory.`);
    }
    const missing = key.missing === '_last' || key.missing === '_first'
      ? null
      : queryValue(field, key.missing, ctx.index, ctx.now);
    return doc => reduce(field, key, docValues(doc, field)) ?? missing;
  });
}

function reduce (field: TypedField, key: SortKey, values: Scalar[]): SortValue {
  if (values.length === 0) {
    return null;
  }
  const mode = key.mode ?? (key.order === 1 ? 'min' : 'max');
  if (mode === 'min' || mode === 'max') {
    return values.reduce((a, b) => ((compareScalars(a, b) <= 0) === (mode === 'min') ? a : b));
  }
  if (field.family !== 'number' && field.family !== 'date') {
    throw illegalArgument(`sort mode [${mode}] is only supported on numeric fields`);
  }
  const numbers = values.map(Number).sort((a, b) => a - b);
  if (mode === 'sum') {
    return numbers.reduce((a, b) => a + b, 0);
  }
  if (mode === 'avg') {
    return numbers.reduce((a, b) => a + b, 0) / numbers.length;
  }
  const mid = Math.floor(numbers.length / 2);
  return numbers.length % 2 === 1 ? numbers[mid] : (numbers[mid - 1] + numbers[mid]) / 2;
}

/** Converts search_after values to the sort keys' domains (dates -> epoch millis, ...). */
export function sortCursor (keys: SortKey[], values: Json[], ctx: SortContext): SortValue[] {
  return keys.map((key, i) => {
    const value = values[i];
    if (value === null) {
      return null;
    }
    if (typeof value === 'object') {
      throw parsingException(`[search_after] values must be scalars, found ${describe(value)}`);
    }
    if (key.kind !== 'field') {
      return Number(value);
    }
    const field = typedField(resolveField(ctx.mapping, key.field), ctx);
    return field === null ? value : queryValue(field, value, ctx.index, ctx.now);
  });
}

export function compareSortValues (keys: SortKey[], a: SortValue[], b: SortValue[]): number {
  for (let i = 0; i < keys.length; i++) {
    const va = a[i];
    const vb = b[i];
    if (va === null || vb === null) {
      if (va === vb) {
        continue;
      }
      const missingFirst = keys[i].missing === '_first';
      return (va === null) === missingFirst ? -1 : 1;
    }
    const c = compareScalars(va, vb);
    if (c !== 0) {
      return c * keys[i].order;
    }
  }
  return 0;
}
