import { deleteByQuery, taskRecord, updateByQuery } from './by-query';
import { executeBulk, parseBulk } from './bulk';
import { deleteDoc, foundBody, getDoc, indexDoc, updateDoc } from './docs';
import { EsError, actionValidation, illegalArgument, indexNotFound, toEsError, unsupported } from './errors';
import { Json, JsonObject, isObject } from './json';
import { Ctx, INDICES_OPTIONS, Reply, Route, SOURCE_PARAMS, WRITE_PARAMS } from './router';
import { ScrollRegistry, SearchParams, TrackTotalHits, count, scroll, search } from './search';
import { FULL_SOURCE, parseSourceBody } from './source-filter';
import { DEFAULT_RESOLVE, EsIndex } from './store';
import { parseTimeValue } from './values';

const ok = (body: Json, status = 200): Reply => ({ status, body });

function writeOptions (ctx: Ctx) {
  return {
    ifSeqNo: ctx.params.int('if_seq_no'),
    ifPrimaryTerm: ctx.params.int('if_primary_term'),
    forcedRefresh: ctx.params.forcedRefresh(),
  };
}

/** Single-document reads go through an index or an alias pointing to exactly one index. */
function readIndex (ctx: Ctx, name: string): EsIndex {
  const direct = ctx.store.indices.get(name);
  if (direct) {
    return direct;
  }
  const targets = [...ctx.store.indices.values()].filter(i => i.aliases.has(name));
  if (targets.length === 0) {
    throw indexNotFound(name);
  }
  if (targets.length > 1) {
    throw illegalArgument(
      `alias [${name}] has more than one index associated with it [${targets.map(t => t.name).join(', ')}], can't execute a single index op`);
  }
  return targets[0];
}

function rejectStoredFields (ctx: Ctx): void {
  const stored = ctx.params.str('stored_fields');
  if (stored !== undefined && stored !== '') {
    throw unsupported('stored_fields');
  }
}

function putDoc (ctx: Ctx, forceCreate: boolean): Reply {
  const opType = forceCreate ? 'create' : ctx.params.oneOf('op_type', ['index', 'create'] as const, 'index');
  const idx = ctx.store.writeIndex(ctx.vars.index, true);
  const result = indexDoc(ctx.store, idx, ctx.vars.id, ctx.body ?? null, opType, writeOptions(ctx));
  return ok(result.body, result.status);
}

function getDocument (ctx: Ctx): Reply {
  rejectStoredFields(ctx);
  const idx = readIndex(ctx, ctx.vars.index);
  const result = getDoc(idx, ctx.vars.id, ctx.params.sourceFilter() ?? FULL_SOURCE);
  return ok(ctx.method === 'HEAD' ? null : result.body, result.status);
}

function getSource (ctx: Ctx): Reply {
  const idx = readIndex(ctx, ctx.vars.index);
  const result = getDoc(idx, ctx.vars.id, ctx.params.sourceFilter() ?? FULL_SOURCE);
  if (result.status === 404) {
    throw new EsError(404, 'resource_not_found_exception', `Document not found [${idx.name}]/[_doc]/[${ctx.vars.id}]`);
  }
  return ok(ctx.method === 'HEAD' ? null : result.body._source ?? {});
}

function deleteDocument (ctx: Ctx): Reply {
  const idx = ctx.store.writeIndex(ctx.vars.index, false);
  const result = deleteDoc(ctx.store, idx, ctx.vars.id, writeOptions(ctx));
  return ok(result.body, result.status);
}

function updateDocument (ctx: Ctx): Reply {
  const idx = ctx.store.writeIndex(ctx.vars.index, true);
  const retries = ctx.params.int('retry_on_conflict');
  if (retries !== undefined && retries < 0) {
    throw actionValidation('retry_on_conflict cannot be negative');
  }
  const result = updateDoc(ctx.store, idx, ctx.vars.id, ctx.body ?? null, {
    ...writeOptions(ctx),
    sourceFilter: ctx.params.sourceFilter(),
  });
  return ok(result.body, result.status);
}

function mget (ctx: Ctx): Reply {
  rejectStoredFields(ctx);
  const body = ctx.body;
  if (!isObject(body)) {
    throw actionValidation('no documents to get');
  }
  const defaultIndex = ctx.vars.index;
  const defaultFilter = ctx.params.sourceFilter() ?? FULL_SOURCE;
  let specs: JsonObject[];
  if (Array.isArray(body.docs)) {
    specs = body.docs.map(d => {
      if (!isObject(d)) {
        throw actionValidation('docs entries must be objects');
      }
      return d;
    });
  }
  else if (Array.isArray(body.ids)) {
    specs = body.ids.map(id => ({ _id: id }));
  }
  else {
    throw actionValidation('no documents to get');
  }
  const problems: string[] = [];
  specs.forEach((spec, i) => {
    for (const key of Object.keys(spec)) {
      if (!['_index', '_id', '_source', '_type'].includes(key)) {
        throw unsupported(`_mget doc option [${key}]`);
      }
    }
    if (spec._index === undefined && defaultIndex === undefined) {
      problems.push(`index is missing for doc ${i}`);
    }
    if (spec._id === undefined || spec._id === null) {
      problems.push(`id is missing for doc ${i}`);
    }
  });
  if (problems.length > 0) {
    throw actionValidation(problems.join(';'));
  }
  const docs: Json[] = specs.map(spec => {
    const indexName = typeof spec._index === 'string' ? spec._index : defaultIndex ?? '';
    const id = String(spec._id);
    const filter = parseSourceBody(spec._source) ?? defaultFilter;
    try {
      const idx = readIndex(ctx, indexName);
      idx.assertOpen();
      const doc = idx.docs.get(id);
      return doc ? foundBody(idx, doc, filter) : { _index: idx.name, _type: '_doc', _id: id, found: false };
    }
    catch (error) {
      const esError = toEsError(error);
      return { _index: indexName, _type: '_doc', _id: id, error: { root_cause: [esError.toCause()], ...esError.toCause() } };
    }
  });
  return ok({ docs });
}

function bulk (ctx: Ctx): Reply {
  if (ctx.params.str('type') !== undefined) {
    throw unsupported('mapping types in _bulk');
  }
  const items = parseBulk(ctx.rawBody, ctx.vars.index, ctx.params.sourceFilter());
  return ok(executeBulk(ctx.store, items, ctx.params.forcedRefresh()));
}

function searchIndices (ctx: Ctx): EsIndex[] {
  const options = ctx.params.resolveOptions(DEFAULT_RESOLVE);
  return ctx.store.openOnly(ctx.store.resolve(ctx.vars.index, options), options.ignoreUnavailable);
}

function keepAlive (value: string | undefined): number | undefined {
  if (value === undefined) {
    return undefined;
  }
  const ms = parseTimeValue(value, 'scroll');
  if (ms > ScrollRegistry.MAX_KEEP_ALIVE) {
    throw illegalArgument(
      `Keep alive for request (${value}) is too large. It must be less than (1d). This limit can be set by changing the [search.max_keep_alive] cluster level setting.`);
  }
  return ms;
}

function trackTotalHitsParam (ctx: Ctx): TrackTotalHits | undefined {
  const value = ctx.params.str('track_total_hits');
  if (value === undefined) {
    return undefined;
  }
  if (value === 'true' || value === '') {
    return true;
  }
  if (value === 'false') {
    return false;
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw illegalArgument(`Failed to parse track_total_hits [${value}]`);
  }
  return n;
}

function optionalBool (ctx: Ctx, name: string): boolean | undefined {
  return ctx.params.has(name) ? ctx.params.bool(name, false) : undefined;
}

function searchDocs (ctx: Ctx): Reply {
  rejectStoredFields(ctx);
  ctx.params.oneOf('search_type', ['query_then_fetch', 'dfs_query_then_fetch'] as const, 'query_then_fetch');
  const params: SearchParams = {
    from: ctx.params.int('from'),
    size: ctx.params.int('size'),
    sort: ctx.params.str('sort'),
    source: ctx.params.sourceFilter(),
    trackTotalHits: trackTotalHitsParam(ctx),
    restTotalHitsAsInt: ctx.params.bool('rest_total_hits_as_int', false),
    scrollMs: keepAlive(ctx.params.str('scroll')),
    version: optionalBool(ctx, 'version'),
    seqNoPrimaryTerm: optionalBool(ctx, 'seq_no_primary_term'),
    trackScores: optionalBool(ctx, 'track_scores'),
  };
  return ok(search(searchIndices(ctx), ctx.body, params, ctx.scrolls));
}

function scrollNext (ctx: Ctx): Reply {
  const body = isObject(ctx.body) ? ctx.body : {};
  for (const key of Object.keys(body)) {
    if (key !== 'scroll_id' && key !== 'scroll') {
      throw illegalArgument(`Unknown parameter [${key}] in request body or parameter is of the wrong type[VALUE_STRING] `);
    }
  }
  const id = ctx.vars.scroll_id ?? ctx.params.str('scroll_id') ?? (typeof body.scroll_id === 'string' ? body.scroll_id : undefined);
  if (id === undefined) {
    throw actionValidation('scrollId is missing');
  }
  const ttl = keepAlive(ctx.params.str('scroll') ?? (typeof body.scroll === 'string' ? body.scroll : undefined));
  return ok(scroll(ctx.scrolls, id, ttl, ctx.params.bool('rest_total_hits_as_int', false)));
}

function clearScroll (ctx: Ctx): Reply {
  let ids: string[] = [];
  if (ctx.vars.scroll_id !== undefined) {
    ids = ctx.vars.scroll_id.split(',');
  }
  else if (isObject(ctx.body)) {
    const raw = ctx.body.scroll_id;
    ids = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
  }
  if (ids.length === 0) {
    throw actionValidation('no scroll ids specified');
  }
  const freed = ids.includes('_all') ? ctx.scrolls.clear('all', Date.now()) : ctx.scrolls.clear(ids, Date.now());
  // ES answers 404 when nothing was freed.
  return ok({ succeeded: true, num_freed: freed }, freed > 0 ? 200 : 404);
}

function countDocs (ctx: Ctx): Reply {
  const minScore = ctx.params.str('min_score');
  return ok(count(searchIndices(ctx), ctx.body, minScore === undefined ? undefined : Number(minScore)));
}

function byQuery (kind: 'delete' | 'update') {
  return (ctx: Ctx): Reply => {
    keepAlive(ctx.params.str('scroll'));
    const slices = ctx.params.str('slices');
    if (slices !== undefined && slices !== 'auto' && !(Number.isInteger(Number(slices)) && Number(slices) >= 1)) {
      throw illegalArgument(`Failed to parse int parameter [slices] with value [${slices}]`);
    }
    ctx.params.bool('refresh', false);
    const maxDocs = ctx.params.int('max_docs') ?? ctx.params.int('size');
    if (maxDocs !== undefined && maxDocs <= 0) {
      throw actionValidation(`maxDocs should be greater than 0 if the request is limited to some number of documents or -1 if it isn't but it was [${maxDocs}]`);
    }
    const options = {
      maxDocs,
      conflicts: ctx.params.oneOf('conflicts', ['abort', 'proceed'] as const, 'abort'),
      scrollSize: ctx.params.int('scroll_size') ?? 1000,
    };
    const indices = searchIndices(ctx);
    const response = kind === 'delete'
      ? deleteByQuery(ctx.store, indices, ctx.body, options)
      : updateByQuery(ctx.store, indices, ctx.body, options);
    if (!ctx.params.bool('wait_for_completion', true)) {
      const action = kind === 'delete' ? 'indices:data/write/delete/byquery' : 'indices:data/write/update/byquery';
      return ok({ task: taskRecord(ctx.store, action, response) });
    }
    return ok(response);
  };
}

const WRITE = [...WRITE_PARAMS, 'if_seq_no', 'if_primary_term'];
const GET_PARAMS = ['realtime', 'refresh', 'preference', 'stored_fields', ...SOURCE_PARAMS];
const SEARCH_PARAMS = [
  'from', 'size', 'sort', 'scroll', 'search_type', 'track_total_hits', 'rest_total_hits_as_int', 'typed_keys',
  'version', 'seq_no_primary_term', 'track_scores', 'timeout', 'request_cache', 'preference',
  'allow_partial_search_results', 'ccs_minimize_roundtrips', 'batched_reduce_size', 'max_concurrent_shard_requests',
  'pre_filter_shard_size', 'ignore_throttled', 'stored_fields', ...SOURCE_PARAMS, ...INDICES_OPTIONS,
];
const BY_QUERY_PARAMS = [
  'conflicts', 'refresh', 'scroll', 'size', 'max_docs', 'scroll_size', 'wait_for_completion', 'wait_for_active_shards',
  'timeout', 'requests_per_second', 'slices', 'search_timeout', 'request_cache', 'preference', ...INDICES_OPTIONS,
];
const COUNT_PARAMS = ['min_score', 'preference', 'ignore_throttled', ...INDICES_OPTIONS];

export const DOC_ROUTES: Route[] = [
  { methods: ['GET', 'POST'], pattern: '/_search', params: SEARCH_PARAMS, body: 'json', handler: searchDocs },
  { methods: ['GET', 'POST'], pattern: '/{index}/_search', params: SEARCH_PARAMS, body: 'json', handler: searchDocs },
  { methods: ['GET', 'POST'], pattern: '/_search/scroll', params: ['scroll', 'scroll_id', 'rest_total_hits_as_int'], body: 'json', handler: scrollNext },
  { methods: ['GET', 'POST'], pattern: '/_search/scroll/{scroll_id}', params: ['scroll', 'rest_total_hits_as_int'], body: 'json', handler: scrollNext },
  { methods: ['DELETE'], pattern: '/_search/scroll', params: [], body: 'json', handler: clearScroll },
  { methods: ['DELETE'], pattern: '/_search/scroll/{scroll_id}', params: [], body: 'json', handler: clearScroll },
  { methods: ['GET', 'POST'], pattern: '/_count', params: COUNT_PARAMS, body: 'json', handler: countDocs },
  { methods: ['GET', 'POST'], pattern: '/{index}/_count', params: COUNT_PARAMS, body: 'json', handler: countDocs },
  { methods: ['GET', 'POST'], pattern: '/_mget', params: GET_PARAMS, body: 'json', handler: mget },
  { methods: ['GET', 'POST'], pattern: '/{index}/_mget', params: GET_PARAMS, body: 'json', handler: mget },
  { methods: ['POST', 'PUT'], pattern: '/_bulk', params: [...WRITE_PARAMS, 'type', ...SOURCE_PARAMS], body: 'ndjson', handler: bulk },
  { methods: ['POST', 'PUT'], pattern: '/{index}/_bulk', params: [...WRITE_PARAMS, 'type', ...SOURCE_PARAMS], body: 'ndjson', handler: bulk },
  { methods: ['POST'], pattern: '/{index}/_delete_by_query', params: BY_QUERY_PARAMS, body: 'json', handler: byQuery('delete') },
  { methods: ['POST'], pattern: '/{index}/_update_by_query', params: BY_QUERY_PARAMS, body: 'json', handler: byQuery('update') },
  { methods: ['PUT', 'POST'], pattern: '/{index}/_doc/{id}', params: [...WRITE, 'op_type'], body: 'json', handler: ctx => putDoc(ctx, false) },
  { methods: ['POST'], pattern: '/{index}/_doc', params: [...WRITE, 'op_type'], body: 'json', handler: ctx => putDoc(ctx, false) },
  { methods: ['PUT', 'POST'], pattern: '/{index}/_create/{id}', params: WRITE, body: 'json', handler: ctx => putDoc(ctx, true) },
  { methods: ['GET', 'HEAD'], pattern: '/{index}/_doc/{id}', params: GET_PARAMS, body: 'none', handler: getDocument },
  { methods: ['DELETE'], pattern: '/{index}/_doc/{id}', params: WRITE, body: 'none', handler: deleteDocument },
  { methods: ['GET', 'HEAD'], pattern: '/{index}/_source/{id}', params: GET_PARAMS, body: 'none', handler: getSource },
  {
    methods: ['POST'],
    pattern: '/{index}/_update/{id}',
    params: [...WRITE, 'retry_on_conflict', ...SOURCE_PARAMS],
    body: 'json',
    handler: updateDocument,
  },
];
