import { parsingException, queryShardException, unsupported, unsupportedQuery } from './errors';
import { DocView, FieldContext, Scalar, TypedField, compareScalars, docValues, queryValue, typedField } from './field-values';
import { Json, JsonObject, asList, describe, isObject, own } from './json';
import { leafPaths, resolveField } from './mapping';
import { assertSupportedDateFormat, extractValues, tokenize } from './values';

/** Score of a matching document, or null when it does not match. */
export type Matcher = (doc: DocView) => number | null;

export type QueryContext = FieldContext;

const MATCH_NONE: Matcher = () => null;

function constant (score: number, test: (doc: DocView) => boolean): Matcher {
  return doc => (test(doc) ? score : null);
}

/** Compiles an ES query DSL object for one index; unsupported clauses answer 400. */
export function compileQuery (query: Json | undefined, ctx: QueryContext): Matcher {
  if (query === undefined || query === null) {
    return () => 1;
  }
  const [name, body] = singleEntry(query, 'query');
  const compiler = Object.prototype.hasOwnProperty.call(COMPILERS, name) ? COMPILERS[name] : undefined;
  if (compiler === undefined) {
    throw unsupportedQuery(`query [${name}]`);
  }
  return compiler(body, ctx);
}

type Compiler = (body: Json, ctx: QueryContext) => Matcher;

const COMPILERS: Record<string, Compiler> = {
  match_all: (body) => {
    const { boost } = readParams(body, 'match_all', ['boost']);
    return () => numberOr(boost, 1, 'boost');
  },
  match_none: (body) => {
    readParams(body, 'match_none', []);
    return MATCH_NONE;
  },
  ids: (body) => {
    const params = readParams(body, 'ids', ['values', 'boost', 'type']);
    if (params.type !== undefined) {
      throw unsupported('[ids] query parameter [type]');
    }
    const values = new Set(asList(params.values ?? []).map(v => {
      if (typeof v !== 'string' && typeof v !== 'number') {
        throw parsingException(`[ids] values must be strings, found ${describe(v)}`);
      }
      return String(v);
    }));
    const score = numberOr(params.boost, 1, 'boost');
    return constant(score, doc => values.has(doc.id));
  },
  term: (body, ctx) => {
    const [fieldName, spec] = singleField(body, 'term');
    const params = isObject(spec) ? readParams(spec, 'term', ['value', 'boost', 'case_insensitive']) : { value: spec };
    if (params.value === undefined) {
      throw parsingException('[term] query requires a value');
    }
    const field = fieldFor(fieldName, ctx);
    if (field === null) {
      return MATCH_NONE;
    }
    const insensitive = params.case_insensitive === true;
    const target = normalizeCase(queryValue(field, params.value, ctx.index, ctx.now), insensitive);
    const score = numberOr(params.boost, 1, 'boost');
    return constant(score, doc => docValues(doc, field).some(v => normalizeCase(v, insensitive) === target));
  },
  terms: (body, ctx) => {
    if (!isObject(body)) {
      throw parsingException('[terms] query malformed, expected an object');
    }
    let fieldName: string | undefined;
    let values: Json[] = [];
    let boost = 1;
    for (const [key, value] of Object.entries(body)) {
      if (key === 'boost') {
        boost = numberOr(value, 1, 'boost');
      }
      else if (key === '_name') {
        throw unsupported('named queries [_name]');
      }
      else if (fieldName !== undefined) {
        throw parsingException(`[terms] query does not support multiple fields, found [${fieldName}] and [${key}]`);
      }
      else if (isObject(value)) {
        throw unsupported('terms lookup');
      }
      else if (!Array.isArray(value)) {
        throw parsingException(`[terms] query does not support [${key}]`);
      }
      else {
        fieldName = key;
        values = value;
      }
    }
    if (fieldName === undefined) {
      throw parsingException('[terms] query requires a field');
    }
    const field = fieldFor(fieldName, ctx);
    if (field === null) {
      return MATCH_NONE;
    }
    const targets = new Set<Scalar>(values.map(v => queryValue(field, v, ctx.index, ctx.now)));
    return constant(boost, doc => docValues(doc, field).some(v => targets.has(v)));
  },
  match: (body, ctx) => compileMatch(body, ctx, false),
  match_phrase: (body, ctx) => compileMatch(body, ctx, true),
  range: (body, ctx) => compileRange(body, ctx),
  exists: (body, ctx) => {
    const params = readParams(body, 'exists', ['field', 'boost']);
    if (typeof params.field !== 'string') {
      throw parsingException('[exists] must be provided with a [field]');
    }
    const score = numberOr(params.boost, 1, 'boost');
    const info = resolveField(ctx.mapping, params.field);
    if (info.kind === 'object') {
      const fields = leafPaths(info.def, info.path)
        .map(path => fieldFor(path, ctx))
        .filter((f): f is TypedField => f !== null);
      return constant(score, doc => fields.some(f => docValues(doc, f).length > 0));
    }
    const field = typedField(info, ctx);
    if (field === null) {
      return MATCH_NONE;
    }
    return constant(score, doc => docValues(doc, field).length > 0);
  },
  prefix: (body, ctx) => {
    const [fieldName, spec] = singleField(body, 'prefix');
    const params = isObject(spec)
      ? readParams(spec, 'prefix', ['value', 'boost', 'case_insensitive', 'rewrite'])
      : { value: spec };
    if (typeof params.value !== 'string') {
      throw parsingException('[prefix] query requires a string value');
    }
    if (params.rewrite !== undefined && params.rewrite !== 'constant_score') {
      throw unsupported(`[prefix] rewrite [${describe(params.rewrite)}]`);
    }
    const field = fieldFor(fieldName, ctx);
    if (field === null) {
      return MATCH_NONE;
    }
    if (field.family !== 'keyword' && field.family !== 'text') {
      throw queryShardException(
        `Can only use prefix queries on keyword, text and wildcard fields - not on [${fieldName}] which is of type [${field.family}]`,
        ctx.index);
    }
    const insensitive = params.case_insensitive === true;
    const prefix = insensitive ? params.value.toLowerCase() : params.value;
    const score = numberOr(params.boost, 1, 'boost');
    return constant(score, doc => docValues(doc, field)
      .some(v => String(normalizeCase(v, insensitive)).startsWith(prefix)));
  },
  bool: (body, ctx) => compileBool(body, ctx),
  constant_score: (body, ctx) => {
    const params = readParams(body, 'constant_score', ['filter', 'boost']);
    if (params.filter === undefined) {
      throw parsingException('[constant_score] requires a \'filter\' element');
    }
    const inner = compileQuery(params.filter, ctx);
    const score = numberOr(params.boost, 1, 'boost');
    return doc => (inner(doc) === null ? null : score);
  },
};

function compileBool (body: Json, ctx: QueryContext): Matcher {
  const params = readParams(body, 'bool', [
    'must', 'filter', 'should', 'must_not', 'minimum_should_match', 'boost', 'adjust_pure_negative',
  ]);
  const compileAll = (value: Json | undefined): Matcher[] =>
    value === undefined ? [] : asList(value).map(q => compileQuery(q, ctx));
  const must = compileAll(own(params, 'must'));
  const filter = compileAll(own(params, 'filter'));
  const should = compileAll(own(params, 'should'));
  const mustNot = compileAll(own(params, 'must_not'));
  const boost = numberOr(params.boost, 1, 'boost');
  const defaultMsm = should.length > 0 && must.length === 0 && filter.length === 0 ? 1 : 0;
  const msm = params.minimum_should_match === undefined
    ? defaultMsm
    : minimumShouldMatch(params.minimum_should_match, should.length);
  if (msm > should.length) {
    return MATCH_NONE;
  }
  return doc => {
    let score = 0;
    for (const m of must) {
      const s = m(doc);
      if (s === null) {
        return null;
      }
      score += s;
    }
    for (const m of filter) {
      if (m(doc) === null) {
        return null;
      }
    }
    for (const m of mustNot) {
      if (m(doc) !== null) {
        return null;
      }
    }
    let matched = 0;
    for (const m of should) {
      const s = m(doc);
      if (s !== null) {
        matched++;
        score += s;
      }
    }
    return matched >= msm ? score * boost : null;
  };
}

/** Integer, negative integer, percentage and negative percentage forms. */
export function minimumShouldMatch (value: Json, optional: number): number {
  const text = String(value).trim();
  let result: number;
  if (/^-?\d+$/.test(text)) {
    const n = Number(text);
    result = n < 0 ? optional + n : n;
  }
  else if (/^-?\d+(\.\d+)?%$/.test(text)) {
    const pct = Number(text.slice(0, -1));
    const count = Math.floor(optional * Math.abs(pct) / 100);
    result = pct < 0 ? optional - count : count;
  }
  else {
    throw unsupported(`minimum_should_match [${text}]`);
  }
  return Math.max(0, Math.min(result, optional));
}

function compileMatch (body: Json, ctx: QueryContext, phrase: boolean): Matcher {
  const name = phrase ? 'match_phrase' : 'match';
  const [fieldName, spec] = singleField(body, name);
  const allowed = phrase
    ? ['query', 'boost', 'analyzer', 'slop', 'zero_terms_query']
    : ['query', 'operator', 'boost', 'minimum_should_match', 'lenient', 'zero_terms_query', 'analyzer',
      'auto_generate_synonyms_phrase_query'];
  const params = isObject(spec) ? readParams(spec, name, allowed) : { query: spec };
  if (params.query === undefined || params.query === null) {
    throw parsingException(`No text specified for text query`);
  }
  if (params.analyzer !== undefined && params.analyzer !== 'standard') {
    throw unsupported(`[${name}] analyzer [${describe(params.analyzer)}]`);
  }
  if (params.slop !== undefined && params.slop !== 0) {
    throw unsupported('[match_phrase] slop');
  }
  const operator = String(params.operator ?? 'or').toLowerCase();
  if (operator !== 'or' && operator !== 'and') {
    throw parsingException(`[${name}] unknown operator [${operator}]`);
  }
  const zeroTerms = String(params.zero_terms_query ?? 'none').toLowerCase();
  if (zeroTerms !== 'none' && zeroTerms !== 'all') {
    throw parsingException(`Unsupported zero_terms_query value [${zeroTerms}]`);
  }
  const boost = numberOr(params.boost, 1, 'boost');
  const field = fieldFor(fieldName, ctx);
  if (field === null) {
    return MATCH_NONE;
  }
  if (field.family !== 'text') {
    let target: Scalar;
    try {
      target = queryValue(field, params.query, ctx.index, ctx.now);
    }
    catch (error) {
      if (params.lenient === true) {
        return MATCH_NONE;
      }
      throw error;
    }
    return constant(boost, doc => docValues(doc, field).some(v => v === target));
  }
  const tokens = [...new Set(tokenize(String(params.query)))];
  if (tokens.length === 0) {
    return zeroTerms === 'all' ? () => boost : MATCH_NONE;
  }
  if (phrase) {
    const wanted = tokenize(String(params.query));
    return constant(boost, doc => extractValues(doc.source, field.path)
      .some(v => typeof v !== 'object' && containsSequence(tokenize(String(v)), wanted)));
  }
  const required = operator === 'and'
    ? tokens.length
    : params.minimum_should_match === undefined ? 1 : minimumShouldMatch(params.minimum_should_match, tokens.length);
  return doc => {
    const present = new Set(docValues(doc, field));
    const matched = tokens.filter(t => present.has(t)).length;
    return matched > 0 && matched >= required ? matched * boost : null;
  };
}

function containsSequence (haystack: string[], needle: string[]): boolean {
  for (let i = 0; i + needle.length <= haystack.length; i++) {
    if (needle.every((token, j) => haystack[i + j] === token)) {
      return true;
    }
  }
  return false;
}

function compileRange (body: Json, ctx: QueryContext): Matcher {
  const [fieldName, spec] = singleField(body, 'range');
  if (!isObject(spec)) {
    throw parsingException(`[range] query malformed, no start_object after query name`);
  }
  const params = readParams(spec, 'range', [
    'gt', 'gte', 'lt', 'lte', 'from', 'to', 'include_lower', 'include_upper', 'boost', 'format', 'time_zone', 'relation',
  ]);
  if (params.time_zone !== undefined && !['UTC', 'Z', '+00:00', 'Etc/UTC'].includes(String(params.time_zone))) {
    throw unsupported(`[range] time_zone [${describe(params.time_zone)}]`);
  }
  if (params.relation !== undefined && String(params.relation).toLowerCase() !== 'intersects') {
    throw unsupported(`[range] relation [${describe(params.relation)}]`);
  }
  const bounds: Array<{ op: 'gt' | 'gte' | 'lt' | 'lte'; value: Json }> = [];
  for (const op of ['gt', 'gte', 'lt', 'lte'] as const) {
    const value = params[op];
    if (value !== undefined && value !== null) {
      bounds.push({ op, value });
    }
  }
  if (params.from !== undefined && params.from !== null) {
    bounds.push({ op: params.include_lower === false ? 'gt' : 'gte', value: params.from });
  }
  if (params.to !== undefined && params.to !== null) {
    bounds.push({ op: params.include_upper === false ? 'lt' : 'lte', value: params.to });
  }
  const score = numberOr(params.boost, 1, 'boost');
  let field = fieldFor(fieldName, ctx);
  if (field === null) {
    return MATCH_NONE;
  }
  if (field.family === 'boolean') {
    throw unsupported(`[range] queries on boolean field [${fieldName}]`);
  }
  if (typeof params.format === 'string') {
    if (field.family !== 'date') {
      throw queryShardException(`Field [${fieldName}] of type [${field.family}] does not support custom formats`, ctx.index);
    }
    assertSupportedDateFormat(params.format, fieldName);
    field = { ...field, dateFormat: params.format };
  }
  const typed = field;
  const compiled = bounds.map(b => ({ op: b.op, value: queryValue(typed, b.value, ctx.index, ctx.now) }));
  const inRange = (v: Scalar): boolean => compiled.every(({ op, value }) => {
    const c = compareScalars(v, value);
    return op === 'gt' ? c > 0 : op === 'gte' ? c >= 0 : op === 'lt' ? c < 0 : c <= 0;
  });
  return constant(score, doc => docValues(doc, typed).some(inRange));
}

function fieldFor (path: string, ctx: QueryContext): TypedField | null {
  return typedField(resolveField(ctx.mapping, path), ctx);
}

function normalizeCase (value: Scalar, insensitive: boolean): Scalar {
  return insensitive && typeof value === 'string' ? value.toLowerCase() : value;
}

function singleEntry (value: Json, where: string): [string, Json] {
  if (!isObject(value)) {
    throw parsingException(`[${where}] malformed query, expected an object but found ${describe(value)}`);
  }
  const entries = Object.entries(value);
  if (entries.length === 0) {
    throw parsingException(`[${where}] malformed query, empty clause found`);
  }
  if (entries.length > 1) {
    throw parsingException(`[${entries[0][0]}] malformed query, expected [END_OBJECT] but found [FIELD_NAME] (${entries[1][0]})`);
  }
  return entries[0];
}

function singleField (body: Json, query: string): [string, Json] {
  if (!isObject(body)) {
    throw parsingException(`[${query}] query malformed, no start_object after query name`);
  }
  const entries = Object.entries(body);
  if (entries.length === 0) {
    throw parsingException(`[${query}] query malformed, no field specified`);
  }
  if (entries.length > 1) {
    throw parsingException(`[${query}] query doesn't support multiple fields, found [${entries[0][0]}] and [${entries[1][0]}]`);
  }
  return entries[0];
}

function readParams (body: Json, query: string, allowed: string[]): JsonObject {
  if (!isObject(body)) {
    throw parsingException(`[${query}] query malformed, no start_object after query name`);
  }
  for (const key of Object.keys(body)) {
    if (key === '_name') {
      throw unsupported('named queries [_name]');
    }
    if (!allowed.includes(key)) {
      throw unsupportedQuery(`[${query}] query parameter [${key}]`);
    }
  }
  return body;
}

function numberOr (value: Json | undefined, fallback: number, what: string): number {
  if (value === undefined) {
    return fallback;
  }
  const n = Number(value);
  if (typeof value === 'object' || !Number.isFinite(n)) {
    throw parsingException(`[${what}] must be a number, found ${describe(value)}`);
  }
  return n;
}
