import * as os from 'os';

import { EsError, illegalArgument, indexNotFound, unsupported } from './errors';
import { Json, JsonObject, isObject } from './json';
import { mergeRootMapping, normalizeRootMapping } from './mapping';
import { Ctx, INDICES_OPTIONS, Reply, Route } from './router';
import { DEFAULT_RESOLVE, EsIndex, ResolveOptions, WildcardState } from './store';

export const ES_VERSION = '7.17.0';
const MASTER = ['timeout', 'master_timeout'];
const OPEN_AND_CLOSED: ResolveOptions = {
  ...DEFAULT_RESOLVE,
  expandWildcards: new Set<WildcardState>(['open', 'closed']),
};

const ok = (body: Json, status = 200): Reply => ({ status, body });

function rejectTrue (ctx: Ctx, ...names: string[]): void {
  for (const name of names) {
    if (ctx.params.bool(name, false)) {
      throw unsupported(`parameter [${name}=true]`);
    }
  }
}

function resolveAll (ctx: Ctx, defaults: ResolveOptions = DEFAULT_RESOLVE): EsIndex[] {
  return ctx.store.resolve(ctx.vars.index, ctx.params.resolveOptions(defaults));
}

function byteSize (bytes: number): string {
  const units = ['b', 'kb', 'mb', 'gb'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : Number(value.toFixed(1))}${units[unit]}`;
}

function info (ctx: Ctx): Reply {
  return ok({
    name: 'es-standin',
    cluster_name: 'es-standin',
    cluster_uuid: ctx.store.nodeId,
    version: {
      number: ES_VERSION,
      build_flavor: 'default',
      build_type: 'docker',
      build_hash: 'es-standin',
      build_date: '2022-01-28T08:36:04.875279988Z',
      build_snapshot: false,
      lucene_version: '8.11.1',
      minimum_wire_compatibility_version: '6.8.0',
      minimum_index_compatibility_version: '6.0.0-beta1',
    },
    tagline: 'You Know, for Search',
  });
}

function clusterHealth (ctx: Ctx): Reply {
  const level = ctx.params.str('level');
  if (level !== undefined && level !== 'cluster') {
    throw unsupported(`cluster health level [${level}]`);
  }
  const shards = [...ctx.store.indices.values()].filter(i => !i.closed).length;
  return ok({
    cluster_name: 'es-standin',
    status: 'green',
    timed_out: false,
    number_of_nodes: 1,
    number_of_data_nodes: 1,
    active_primary_shards: shards,
    active_shards: shards,
    relocating_shards: 0,
    initializing_shards: 0,
    unassigned_shards: 0,
    delayed_unassigned_shards: 0,
    number_of_pending_tasks: 0,
    number_of_in_flight_fetch: 0,
    task_max_waiting_in_queue_millis: 0,
    active_shards_percent_as_number: 100.0,
  });
}

function clusterStats (ctx: Ctx): Reply {
  const indices = [...ctx.store.indices.values()];
  const size = indices.reduce((sum, idx) => sum + idx.storeSize(), 0);
  const docs = indices.reduce((sum, idx) => sum + idx.docs.size, 0);
  const store: JsonObject = { size_in_bytes: size, reserved_in_bytes: 0 };
  if (ctx.params.bool('human', false)) {
    store.size = byteSize(size);
  }
  return ok({
    _nodes: { total: 1, successful: 1, failed: 0 },
    cluster_name: 'es-standin',
    cluster_uuid: ctx.store.nodeId,
    timestamp: Date.now(),
    status: 'green',
    indices: {
      count: indices.length,
      shards: { total: indices.length, primaries: indices.length },
      docs: { count: docs, deleted: 0 },
      store,
    },
    nodes: {
      count: { total: 1, data: 1, master: 1, ingest: 1, coordinating_only: 0 },
      versions: [ES_VERSION],
    },
  });
}

function indexStats (ctx: Ctx): Reply {
  const metrics = (ctx.vars.metric ?? '').split(',').filter(m => m !== '');
  if (metrics.length === 0 || metrics.some(m => m !== 'docs' && m !== 'store')) {
    throw unsupported(`index stats metrics [${metrics.join(',') || '_all'}] (only docs,store)`);
  }
  const indices = resolveAll(ctx);
  const section = (count: number, size: number): JsonObject => {
    const out: JsonObject = {};
    if (metrics.includes('docs')) {
      out.docs = { count, deleted: 0 };
    }
    if (metrics.includes('store')) {
      out.store = { size_in_bytes: size, reserved_in_bytes: 0 };
    }
    return out;
  };
  const perIndex: JsonObject = {};
  let totalDocs = 0;
  let totalSize = 0;
  for (const idx of indices) {
    const size = idx.storeSize();
    totalDocs += idx.docs.size;
    totalSize += size;
    perIndex[idx.name] = {
      uuid: idx.uuid,
      primaries: section(idx.docs.size, size),
      total: section(idx.docs.size, size),
    };
  }
  return ok({
    _shards: { total: indices.length, successful: indices.length, failed: 0 },
    _all: { primaries: section(totalDocs, totalSize), total: section(totalDocs, totalSize) },
    indices: perIndex,
  });
}

function requireJsonFormat (ctx: Ctx): void {
  if (ctx.params.str('format') !== 'json') {
    throw unsupported('_cat output other than format=json');
  }
}

function catIndices (ctx: Ctx): Reply {
  requireJsonFormat(ctx);
  const rawBytes = ctx.params.str('bytes');
  if (rawBytes !== undefined && rawBytes !== 'b') {
    throw unsupported(`_cat bytes=${rawBytes}`);
  }
  const size = (n: number): string => (rawBytes === 'b' ? String(n) : byteSize(n));
  const rows = resolveAll(ctx, OPEN_AND_CLOSED).map(idx => ({
    health: 'green',
    status: idx.closed ? 'close' : 'open',
    index: idx.name,
    uuid: idx.uuid,
    pri: '1',
    rep: String(idx.shardsTotal - 1),
    'docs.count': idx.closed ? null : String(idx.docs.size),
    'docs.deleted': idx.closed ? null : '0',
    'store.size': idx.closed ? null : size(idx.storeSize()),
    'pri.store.size': idx.closed ? null : size(idx.storeSize()),
  }));
  return ok(rows);
}

/**
 * Alias names in a path (`/_cat/aliases/{name}`, `/_alias/{name}`,
 * `DELETE /{index}/_alias/{name}`): comma lists of exact names. ES also takes
 * wildcards, `_all` and `-exclusions` there: not implemented, so 400 rather
 * than matching them literally.
 */
function aliasNames (ctx: Ctx): string[] | undefined {
  const names = ctx.vars.name?.split(',');
  for (const name of names ?? []) {
    if (name.includes('*') || name === '_all' || name.startsWith('-')) {
      throw unsupported(`alias name expression [${name}] (only exact names)`);
    }
  }
  return names;
}

function catAliases (ctx: Ctx): Reply {
  requireJsonFormat(ctx);
  const wanted = aliasNames(ctx);
  const rows: Json[] = [];
  for (const idx of [...ctx.store.indices.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    for (const [alias, props] of idx.aliases) {
      if (wanted !== undefined && !wanted.includes(alias)) {
        continue;
      }
      rows.push({
        alias,
        index: idx.name,
        filter: '-',
        'routing.index': '-',
        'routing.search': '-',
        is_write_index: props.is_write_index === undefined ? '-' : String(props.is_write_index),
      });
    }
  }
  return ok(rows);
}

/**
 * One node, the master, with every role (the default columns of ES 7.17's
 * `_cat/nodes`). Kuzzle 2.33 counts the rows to choose wait_for_active_shards.
 */
function catNodes (ctx: Ctx): Reply {
  requireJsonFormat(ctx);
  // the `id` column it affects is not shown by default: only validated
  ctx.params.bool('full_id', false);
  const memory = process.memoryUsage();
  const load = os.loadavg().map(l => l.toFixed(2));
  return ok([{
    ip: '127.0.0.1',
    'heap.percent': String(Math.round(100 * memory.heapUsed / memory.heapTotal)),
    'ram.percent': String(Math.round(100 * (1 - os.freemem() / os.totalmem()))),
    cpu: String(Math.min(100, Math.round(100 * os.loadavg()[0] / Math.max(1, os.cpus().length)))),
    load_1m: load[0],
    load_5m: load[1],
    load_15m: load[2],
    'node.role': 'cdfhilmrstw',
    master: '*',
    name: 'es-standin',
  }]);
}

function createIndex (ctx: Ctx): Reply {
  rejectTrue(ctx, 'include_type_name');
  const idx = ctx.store.createIndex(ctx.vars.index, ctx.body);
  return ok({ acknowledged: true, shards_acknowledged: true, index: idx.name });
}

function deleteIndex (ctx: Ctx): Reply {
  for (const idx of resolveAll(ctx, OPEN_AND_CLOSED)) {
    ctx.store.deleteIndex(idx);
  }
  return ok({ acknowledged: true });
}

function indexExists (ctx: Ctx): Reply {
  try {
    const found = resolveAll(ctx, OPEN_AND_CLOSED);
    return ok(null, found.length > 0 ? 200 : 404);
  }
  catch (error) {
    if (error instanceof EsError && error.status === 404) {
      return ok(null, 404);
    }
    throw error;
  }
}

function aliasesOf (idx: EsIndex): JsonObject {
  const out: JsonObject = {};
  for (const [alias, props] of idx.aliases) {
    out[alias] = { ...props };
  }
  return out;
}

function getIndex (ctx: Ctx): Reply {
  rejectTrue(ctx, 'include_type_name', 'flat_settings', 'include_defaults');
  const out: JsonObject = {};
  for (const idx of resolveAll(ctx, OPEN_AND_CLOSED)) {
    out[idx.name] = { aliases: aliasesOf(idx), mappings: idx.mapping, settings: idx.settingsJson() };
  }
  return ok(out);
}

function getMapping (ctx: Ctx): Reply {
  rejectTrue(ctx, 'include_type_name');
  const out: JsonObject = {};
  for (const idx of resolveAll(ctx)) {
    out[idx.name] = { mappings: idx.mapping };
  }
  return ok(out);
}

function putMapping (ctx: Ctx): Reply {
  rejectTrue(ctx, 'include_type_name');
  if (ctx.body === undefined) {
    throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: mapping source is missing;');
  }
  const update = normalizeRootMapping(ctx.body);
  const indices = resolveAll(ctx);
  // All-or-nothing: validate every merge before applying any.
  const merged = indices.map(idx => ({ idx, mapping: mergeRootMapping(idx.mapping, update) }));
  merged.forEach(({ idx, mapping }) => idx.setMapping(mapping));
  return ok({ acknowledged: true });
}

function getSettings (ctx: Ctx): Reply {
  rejectTrue(ctx, 'include_defaults');
  const flat = ctx.params.bool('flat_settings', false);
  const out: JsonObject = {};
  for (const idx of resolveAll(ctx, OPEN_AND_CLOSED)) {
    const nested = idx.settingsJson();
    out[idx.name] = { settings: flat ? flatten(nested, '') : nested };
  }
  return ok(out);
}

function flatten (obj: JsonObject, prefix: string): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (isObject(value)) {
      Object.assign(out, flatten(value, path));
    }
    else {
      out[path] = value;
    }
  }
  return out;
}

function putSettings (ctx: Ctx): Reply {
  rejectTrue(ctx, 'preserve_existing');
  const body = isObject(ctx.body) && isObject(ctx.body.settings) ? ctx.body.settings : ctx.body ?? null;
  const indices = resolveAll(ctx, OPEN_AND_CLOSED);
  if (indices.length === 0) {
    throw indexNotFound(ctx.vars.index ?? '_all');
  }
  ctx.store.updateSettings(indices, body);
  return ok({ acknowledged: true });
}

function openClose (closing: boolean) {
  return (ctx: Ctx): Reply => {
    const indices = resolveAll(ctx, { ...DEFAULT_RESOLVE, expandWildcards: new Set<WildcardState>([closing ? 'open' : 'closed']) });
    const result: JsonObject = {};
    for (const idx of indices) {
      idx.closed = closing;
      result[idx.name] = { closed: true };
    }
    return ok(closing
      ? { acknowledged: true, shards_acknowledged: true, indices: result }
      : { acknowledged: true, shards_acknowledged: true });
  };
}

function refresh (ctx: Ctx): Reply {
  const options = ctx.params.resolveOptions(DEFAULT_RESOLVE);
  const indices = ctx.store.openOnly(ctx.store.resolve(ctx.vars.index, options), options.ignoreUnavailable);
  const total = indices.reduce((sum, idx) => sum + idx.shardsTotal, 0);
  return ok({ _shards: { total, successful: indices.length, failed: 0 } });
}

function aliasProps (body: Json | undefined): JsonObject {
  if (body === undefined || body === null) {
    return {};
  }
  if (!isObject(body)) {
    throw illegalArgument('alias definition must be an object');
  }
  return body;
}

function putAlias (ctx: Ctx): Reply {
  const props = aliasProps(ctx.body);
  const indices = resolveAll(ctx, OPEN_AND_CLOSED);
  for (const alias of ctx.vars.name.split(',')) {
    ctx.store.checkAlias(alias, props);
    indices.forEach(idx => idx.aliases.set(alias, { ...props }));
  }
  return ok({ acknowledged: true });
}

function aliasesMissing (names: string[]): EsError {
  return new EsError(404, 'aliases_not_found_exception', `aliases [${names.join(',')}] missing`, {
    'resource.type': 'aliases',
    'resource.id': names.join(','),
  });
}

function deleteAlias (ctx: Ctx): Reply {
  const names = aliasNames(ctx) ?? [];
  const indices = resolveAll(ctx, OPEN_AND_CLOSED);
  let removed = false;
  for (const idx of indices) {
    for (const name of names) {
      removed = idx.aliases.delete(name) || removed;
    }
  }
  if (!removed) {
    throw aliasesMissing(names);
  }
  return ok({ acknowledged: true });
}

function updateAliases (ctx: Ctx): Reply {
  const actions = isObject(ctx.body) ? ctx.body.actions : undefined;
  if (!Array.isArray(actions)) {
    throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: no aliases actions specified;');
  }
  const steps: Array<() => void> = [];
  for (const action of actions) {
    if (!isObject(action) || Object.keys(action).length !== 1) {
      throw illegalArgument('malformed alias action');
    }
    const [type, spec] = Object.entries(action)[0];
    if ((type !== 'add' && type !== 'remove') || !isObject(spec)) {
      throw unsupported(`alias action [${type}]`);
    }
    const indexNames = listOf(spec.index, spec.indices);
    const aliasNames = listOf(spec.alias, spec.aliases);
    const props: JsonObject = {};
    for (const [key, value] of Object.entries(spec)) {
      if (!['index', 'indices', 'alias', 'aliases'].includes(key)) {
        props[key] = value;
      }
    }
    const indices = indexNames.flatMap(name => ctx.store.resolve(name, OPEN_AND_CLOSED));
    for (const alias of aliasNames) {
      if (type === 'add') {
        ctx.store.checkAlias(alias, props);
        steps.push(() => indices.forEach(idx => idx.aliases.set(alias, { ...props })));
      }
      else {
        if (!indices.some(idx => idx.aliases.has(alias))) {
          throw aliasesMissing([alias]);
        }
        steps.push(() => indices.forEach(idx => idx.aliases.delete(alias)));
      }
    }
  }
  steps.forEach(step => step());
  return ok({ acknowledged: true });
}

function listOf (single: Json | undefined, multiple: Json | undefined): string[] {
  const values = [single, ...(Array.isArray(multiple) ? multiple : multiple === undefined ? [] : [multiple])];
  return values.filter((v): v is string => typeof v === 'string');
}

function getAliases (ctx: Ctx): Reply {
  const names = aliasNames(ctx);
  const out: JsonObject = {};
  const found = new Set<string>();
  for (const idx of resolveAll(ctx, OPEN_AND_CLOSED)) {
    const aliases: JsonObject = {};
    for (const [alias, props] of idx.aliases) {
      if (names === undefined || names.includes(alias)) {
        aliases[alias] = { ...props };
        found.add(alias);
      }
    }
    if (names === undefined || Object.keys(aliases).length > 0) {
      out[idx.name] = { aliases };
    }
  }
  const missing = (names ?? []).filter(n => !found.has(n));
  if (ctx.method === 'HEAD') {
    return ok(null, missing.length === 0 ? 200 : 404);
  }
  if (missing.length > 0) {
    return ok({ error: `alias [${missing.join(',')}] missing`, status: 404, ...out }, 404);
  }
  return ok(out);
}

function getTask (ctx: Ctx): Reply {
  const task = ctx.store.tasks.get(ctx.vars.task_id);
  if (task === undefined) {
    throw new EsError(404, 'resource_not_found_exception', `task [${ctx.vars.task_id}] isn't running and hasn't stored its results`);
  }
  return ok(task);
}

const INDEX_OPTS = [...INDICES_OPTIONS];

export const INDEX_ROUTES: Route[] = [
  { methods: ['GET', 'HEAD'], pattern: '/', params: [], body: 'none', handler: info },
  {
    methods: ['GET'],
    pattern: '/_cluster/health',
    params: ['wait_for_no_initializing_shards', 'wait_for_no_relocating_shards', 'wait_for_status', 'wait_for_nodes',
      'wait_for_events', 'wait_for_active_shards', 'local', 'level', 'expand_wildcards', ...MASTER],
    body: 'none',
    handler: clusterHealth,
  },
  { methods: ['GET'], pattern: '/_cluster/stats', params: ['flat_settings', 'timeout'], body: 'none', handler: clusterStats },
  { methods: ['GET'], pattern: '/_stats', params: INDEX_OPTS, body: 'none', handler: indexStats },
  { methods: ['GET'], pattern: '/_stats/{metric}', params: INDEX_OPTS, body: 'none', handler: indexStats },
  { methods: ['GET'], pattern: '/{index}/_stats', params: INDEX_OPTS, body: 'none', handler: indexStats },
  { methods: ['GET'], pattern: '/{index}/_stats/{metric}', params: INDEX_OPTS, body: 'none', handler: indexStats },
  { methods: ['GET'], pattern: '/_cat/indices', params: ['format', 'bytes', ...INDEX_OPTS], body: 'none', handler: catIndices },
  { methods: ['GET'], pattern: '/_cat/indices/{index}', params: ['format', 'bytes', ...INDEX_OPTS], body: 'none', handler: catIndices },
  { methods: ['GET'], pattern: '/_cat/nodes', params: ['format', 'full_id', 'local', 'master_timeout'], body: 'none', handler: catNodes },
  { methods: ['GET'], pattern: '/_cat/aliases', params: ['format', 'expand_wildcards'], body: 'none', handler: catAliases },
  { methods: ['GET'], pattern: '/_cat/aliases/{name}', params: ['format', 'expand_wildcards'], body: 'none', handler: catAliases },
  { methods: ['GET'], pattern: '/_tasks/{task_id}', params: ['wait_for_completion', 'timeout'], body: 'none', handler: getTask },
  { methods: ['POST'], pattern: '/_aliases', params: MASTER, body: 'json', handler: updateAliases },
  { methods: ['GET', 'HEAD'], pattern: '/_alias', params: ['local', ...INDEX_OPTS], body: 'none', handler: getAliases },
  { methods: ['GET', 'HEAD'], pattern: '/_alias/{name}', params: ['local', ...INDEX_OPTS], body: 'none', handler: getAliases },
  { methods: ['GET', 'HEAD'], pattern: '/{index}/_alias', params: ['local', ...INDEX_OPTS], body: 'none', handler: getAliases },
  { methods: ['GET', 'HEAD'], pattern: '/{index}/_alias/{name}', params: ['local', ...INDEX_OPTS], body: 'none', handler: getAliases },
  { methods: ['PUT', 'POST'], pattern: '/{index}/_alias/{name}', params: MASTER, body: 'json', handler: putAlias },
  { methods: ['PUT', 'POST'], pattern: '/{index}/_aliases/{name}', params: MASTER, body: 'json', handler: putAlias },
  { methods: ['DELETE'], pattern: '/{index}/_alias/{name}', params: MASTER, body: 'none', handler: deleteAlias },
  { methods: ['DELETE'], pattern: '/{index}/_aliases/{name}', params: MASTER, body: 'none', handler: deleteAlias },
  { methods: ['GET'], pattern: '/_mapping', params: ['include_type_name', 'local', 'master_timeout', ...INDEX_OPTS], body: 'none', handler: getMapping },
  { methods: ['GET'], pattern: '/{index}/_mapping', params: ['include_type_name', 'local', 'master_timeout', ...INDEX_OPTS], body: 'none', handler: getMapping },
  {
    methods: ['PUT', 'POST'],
    pattern: '/{index}/_mapping',
    params: ['include_type_name', 'write_index_only', ...MASTER, ...INDEX_OPTS],
    body: 'json',
    handler: putMapping,
  },
  { methods: ['GET'], pattern: '/_settings', params: ['flat_settings', 'include_defaults', 'local', 'master_timeout', ...INDEX_OPTS], body: 'none', handler: getSettings },
  { methods: ['GET'], pattern: '/{index}/_settings', params: ['flat_settings', 'include_defaults', 'local', 'master_timeout', ...INDEX_OPTS], body: 'none', handler: getSettings },
  { methods: ['PUT'], pattern: '/{index}/_settings', params: ['flat_settings', 'preserve_existing', ...MASTER, ...INDEX_OPTS], body: 'json', handler: putSettings },
  { methods: ['POST'], pattern: '/{index}/_open', params: ['wait_for_active_shards', ...MASTER, ...INDEX_OPTS], body: 'none', handler: openClose(false) },
  { methods: ['POST'], pattern: '/{index}/_close', params: ['wait_for_active_shards', ...MASTER, ...INDEX_OPTS], body: 'none', handler: openClose(true) },
  { methods: ['GET', 'POST'], pattern: '/_refresh', params: INDEX_OPTS, body: 'none', handler: refresh },
  { methods: ['GET', 'POST'], pattern: '/{index}/_refresh', params: INDEX_OPTS, body: 'none', handler: refresh },
  { methods: ['PUT'], pattern: '/{index}', params: ['include_type_name', 'wait_for_active_shards', ...MASTER], body: 'json', handler: createIndex },
  { methods: ['DELETE'], pattern: '/{index}', params: [...MASTER, ...INDEX_OPTS], body: 'none', handler: deleteIndex },
  { methods: ['HEAD'], pattern: '/{index}', params: ['local', 'flat_settings', 'include_defaults', 'include_type_name', ...INDEX_OPTS], body: 'none', handler: indexExists },
  { methods: ['GET'], pattern: '/{index}', params: ['local', 'flat_settings', 'include_defaults', 'include_type_name', 'master_timeout', ...INDEX_OPTS], body: 'none', handler: getIndex },
];
