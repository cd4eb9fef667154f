import { EsError, actionValidation, illegalArgument, parsingException, searchContextMissing, unsupported } from './errors';
import { FieldContext } from './field-values';
import { Json, JsonObject, describe, isObject, own } from './json';
import { compileQuery } from './query';
import { SortKey, SortValue, compareSortValues, compileSort, parseSort, sortCursor } from './sort';
import { FULL_SOURCE, SourceFilter, applySourceFilter, parseSourceBody } from './source-filter';
import { EsIndex, StoredDoc } from './store';

export interface Hit {
  idx: EsIndex;
  doc: StoredDoc;
  score: number;
  sort: SortValue[];
}

export function fieldContext (idx: EsIndex, now: number): FieldContext {
  return { mapping: idx.mapping, index: idx.name, now, fieldGeneration: key => idx.fieldGeneration(key) };
}

/** Every matching document of the given (open) indices, unsorted. */
export function matchDocuments (indices: EsIndex[], query: Json | undefined, now: number, minScore?: number): Hit[] {
  const hits: Hit[] = [];
  for (const idx of indices) {
    const matcher = compileQuery(query, fieldContext(idx, now));
    for (const doc of idx.docs.values()) {
      const score = matcher(doc);
      if (score !== null && (minScore === undefined || score >= minScore)) {
        hits.push({ idx, doc, score, sort: [] });
      }
    }
  }
  return hits;
}

function sortHits (hits: Hit[], keys: SortKey[], now: number): void {
  if (keys.length === 0) {
    hits.sort((a, b) => b.score - a.score || a.idx.name.localeCompare(b.idx.name) || a.doc.order - b.doc.order);
    return;
  }
  const extractors = new Map<EsIndex, ReturnType<typeof compileSort>>();
  for (const hit of hits) {
    let ex = extractors.get(hit.idx);
    if (ex === undefined) {
      ex = compileSort(keys, fieldContext(hit.idx, now));
      extractors.set(hit.idx, ex);
    }
    hit.sort = ex.map(extract => extract(hit.doc, hit.score, hit.doc.order));
  }
  hits.sort((a, b) => compareSortValues(keys, a.sort, b.sort)
    || a.idx.name.localeCompare(b.idx.name) || a.doc.order - b.doc.order);
}

export type TrackTotalHits = boolean | number;

export interface SearchParams {
  from?: number;
  size?: number;
  sort?: string;
  source?: SourceFilter;
  trackTotalHits?: TrackTotalHits;
  restTotalHitsAsInt: boolean;
  scrollMs?: number;
  version?: boolean;
  seqNoPrimaryTerm?: boolean;
  trackScores?: boolean;
}

interface HitFormat {
  source: SourceFilter;
  version: boolean;
  seqNoPrimaryTerm: boolean;
  scores: boolean;
  withSort: boolean;
  trackTotalHits: TrackTotalHits;
  restTotalHitsAsInt: boolean;
}

const SEARCH_BODY_KEYS = new Set([
  'query', 'from', 'size', 'sort', '_source', 'track_total_hits', 'track_scores', 'version', 'seq_no_primary_term',
  'timeout', 'min_score', 'post_filter', 'stats', 'explain', 'profile', 'search_after',
]);

function bodyNumber (body: JsonObject, key: string): number | undefined {
  const value = own(body, key);
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw parsingException(`[${key}] expected an integer but found ${describe(value)}`);
  }
  return value;
}

function bodyBool (body: JsonObject, key: string): boolean | undefined {
  const value = own(body, key);
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== 'boolean') {
    throw parsingException(`[${key}] expected a boolean but found ${describe(value)}`);
  }
  return value;
}

function parseTrackTotalHits (value: Json | undefined): TrackTotalHits | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value === 'boolean') {
    return value;
  }
  if (typeof value === 'number' && Number.isInteger(value) && value >= -1) {
    return value === -1 ? true : value;
  }
  throw illegalArgument(`[track_total_hits] must be a boolean or a positive integer, found ${describe(value)}`);
}

export class ScrollRegistry {
  private readonly contexts = new Map<string, ScrollContext>();
  private counter = 0;
  static readonly MAX_OPEN = 500;
  static readonly MAX_KEEP_ALIVE = 24 * 3600 * 1000;

  private purge (now: number): void {
    for (const [id, ctx] of this.contexts) {
      if (ctx.expiresAt < now) {
        this.contexts.delete(id);
      }
    }
  }

  open (hits: Hit[], size: number, keepAlive: number, format: HitFormat, now: number): string {
    this.purge(now);
    if (this.contexts.size >= ScrollRegistry.MAX_OPEN) {
      throw new EsError(500, 'exception',
        `Trying to create too many scroll contexts. Must be less than or equal to: [${ScrollRegistry.MAX_OPEN}]. This limit can be set by changing the [search.max_open_scroll_context] setting.`);
    }
    this.counter += 1;
    const id = Buffer.from(`es-standin;scroll;${this.counter};${Math.random().toString(36).slice(2)}`).toString('base64');
    this.contexts.set(id, { hits, position: size, size, expiresAt: now + keepAlive, format });
    return id;
  }

  next (id: string, keepAlive: number | undefined, now: number): { page: Hit[]; ctx: ScrollContext } {
    this.purge(now);
    const ctx = this.contexts.get(id);
    if (ctx === undefined) {
      throw searchContextMissing(id);
    }
    const page = ctx.hits.slice(ctx.position, ctx.position + ctx.size);
    ctx.position += page.length;
    if (keepAlive !== undefined) {
      ctx.expiresAt = now + keepAlive;
    }
    return { page, ctx };
  }

  clear (ids: string[] | 'all', now: number): number {
    this.purge(now);
    if (ids === 'all') {
      const count = this.contexts.size;
      this.contexts.clear();
      return count;
    }
    let freed = 0;
    for (const id of ids) {
      if (this.contexts.delete(id)) {
        freed++;
      }
    }
    return freed;
  }

  get openCount (): number {
    return this.contexts.size;
  }
}

interface ScrollContext {
  hits: Hit[];
  position: number;
  size: number;
  expiresAt: number;
  format: HitFormat;
}

function formatHit (hit: Hit, format: HitFormat): JsonObject {
  const out: JsonObject = { _index: hit.idx.name, _type: '_doc', _id: hit.doc.id };
  if (format.version) {
    out._version = hit.doc.version;
  }
  if (format.seqNoPrimaryTerm) {
    out._seq_no = hit.doc.seqNo;
    out._primary_term = hit.doc.primaryTerm;
  }
  out._score = format.scores ? hit.score : null;
  const source = applySourceFilter(hit.doc.source, format.source);
  if (source !== undefined) {
    out._source = source;
  }
  if (format.withSort) {
    out.sort = hit.sort;
  }
  return out;
}

function hitsSection (all: Hit[], page: Hit[], format: HitFormat): JsonObject {
  const section: JsonObject = {};
  const total = all.length;
  if (format.restTotalHitsAsInt) {
    section.total = total;
  }
  else if (format.trackTotalHits !== false) {
    const limit = format.trackTotalHits === true ? Infinity : format.trackTotalHits;
    section.total = total > limit ? { value: limit, relation: 'gte' } : { value: total, relation: 'eq' };
  }
  section.max_score = format.scores && all.length > 0 ? Math.max(...all.map(h => h.score)) : null;
  section.hits = page.map(h => formatHit(h, format));
  return section;
}

function envelope (started: number, shards: number, hits: JsonObject, scrollId?: string): JsonObject {
  const body: JsonObject = {};
  if (scrollId !== undefined) {
    body._scroll_id = scrollId;
  }
  body.took = Date.now() - started;
  body.timed_out = false;
  body._shards = { total: shards, successful: shards, skipped: 0, failed: 0 };
  body.hits = hits;
  return body;
}

export function search (
  indices: EsIndex[],
  rawBody: Json | undefined,
  params: SearchParams,
  scrolls: ScrollRegistry,
): JsonObject {
  const started = Date.now();
  const body: JsonObject = rawBody === undefined || rawBody === null ? {} : requireObject(rawBody, 'search');
  for (const key of Object.keys(body)) {
    if (!SEARCH_BODY_KEYS.has(key)) {
      throw unsupported(`search body key [${key}]`);
    }
  }
  if (bodyBool(body, 'explain') === true || bodyBool(body, 'profile') === true) {
    throw unsupported('[explain]/[profile] in search');
  }
  const from = params.from ?? bodyNumber(body, 'from') ?? 0;
  const size = params.size ?? bodyNumber(body, 'size') ?? 10;
  if (from < 0) {
    throw illegalArgument(`[from] parameter cannot be negative but was [${from}]`);
  }
  if (size < 0) {
    throw illegalArgument(`[size] parameter cannot be negative, found [${size}]`);
  }
  const scrolling = params.scrollMs !== undefined;
  if (scrolling && from > 0) {
    throw actionValidation('using [from] is not allowed in a scroll context');
  }
  let trackTotalHits = params.trackTotalHits ?? parseTrackTotalHits(body.track_total_hits);
  if (scrolling && trackTotalHits === false) {
    throw actionValidation('disabling [track_total_hits] is not allowed in a scroll context');
  }
  if (trackTotalHits === undefined) {
    trackTotalHits = scrolling || params.restTotalHitsAsInt ? true : 10000;
  }
  for (const idx of indices) {
    if (!scrolling && from + size > idx.maxResultWindow) {
      throw illegalArgument(
        `Result window is too large, from + size must be less than or equal to: [${idx.maxResultWindow}] but was [${from + size}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.`);
    }
  }
  const now = Date.now();
  const minScore = body.min_score === undefined ? undefined : Number(body.min_score);
  let hits = matchDocuments(indices, body.query, now, minScore);
  if (body.post_filter !== undefined) {
    const kept = new Set(matchDocuments(indices, body.post_filter, now).map(h => h.doc));
    hits = hits.filter(h => kept.has(h.doc));
  }
  const keys = parseSort(body.sort, params.sort);
  sortHits(hits, keys, now);
  const selectable = body.search_after === undefined
    ? hits
    : afterCursor(hits, keys, body.search_after, { from, scrolling, now });
  const sortsOnScore = keys.length === 0 || keys.some(k => k.kind === 'score');
  const format: HitFormat = {
    source: params.source ?? parseSourceBody(body._source) ?? FULL_SOURCE,
    version: params.version ?? bodyBool(body, 'version') ?? false,
    seqNoPrimaryTerm: params.seqNoPrimaryTerm ?? bodyBool(body, 'seq_no_primary_term') ?? false,
    scores: sortsOnScore || (params.trackScores ?? bodyBool(body, 'track_scores') ?? false),
    withSort: keys.length > 0,
    trackTotalHits,
    restTotalHitsAsInt: params.restTotalHitsAsInt,
  };
  const page = selectable.slice(from, from + size);
  let scrollId: string | undefined;
  if (params.scrollMs !== undefined) {
    scrollId = scrolls.open(hits, size, params.scrollMs, format, now);
  }
  return envelope(started, indices.length, hitsSection(hits, page, format), scrollId);
}

/** search_after: hits strictly after the given sort values (totals still count every match). */
function afterCursor (
  hits: Hit[],
  keys: SortKey[],
  raw: Json,
  { from, scrolling, now }: { from: number; scrolling: boolean; now: number },
): Hit[] {
  if (!Array.isArray(raw)) {
    throw parsingException(`[search_after] must be an array, found ${describe(raw)}`);
  }
  if (scrolling) {
    throw actionValidation('`search_after` cannot be used in a scroll context.');
  }
  if (keys.length === 0) {
    throw illegalArgument('Sort must contain at least one field.');
  }
  if (raw.length !== keys.length) {
    throw illegalArgument(`search_after has ${raw.length} value(s) but sort has ${keys.length}.`);
  }
  if (from > 0) {
    throw illegalArgument('`from` parameter must be set to 0 when `search_after` is used.');
  }
  const cursors = new Map<EsIndex, SortValue[]>();
  return hits.filter(hit => {
    let cursor = cursors.get(hit.idx);
    if (cursor === undefined) {
      cursor = sortCursor(keys, raw, fieldContext(hit.idx, now));
      cursors.set(hit.idx, cursor);
    }
    return compareSortValues(keys, hit.sort, cursor) > 0;
  });
}

export function scroll (
  scrolls: ScrollRegistry,
  scrollId: string,
  keepAlive: number | undefined,
  restTotalHitsAsInt: boolean,
): JsonObject {
  const started = Date.now();
  const { page, ctx } = scrolls.next(scrollId, keepAlive, started);
  const format = { ...ctx.format, restTotalHitsAsInt: restTotalHitsAsInt || ctx.format.restTotalHitsAsInt };
  const shards = new Set(ctx.hits.map(h => h.idx)).size;
  return envelope(started, Math.max(shards, 1), hitsSection(ctx.hits, page, format), scrollId);
}

export function count (indices: EsIndex[], rawBody: Json | undefined, minScore: number | undefined): JsonObject {
  const body: JsonObject = rawBody === undefined || rawBody === null ? {} : requireObject(rawBody, 'count');
  for (const key of Object.keys(body)) {
    if (key !== 'query') {
      throw parsingException(`request does not support [${key}]`);
    }
  }
  const hits = matchDocuments(indices, body.query, Date.now(), minScore);
  return {
    count: hits.length,
    _shards: { total: indices.length, successful: indices.length, skipped: 0, failed: 0 },
  };
}

export function requireObject (value: Json, what: string): JsonObject {
  if (!isObject(value)) {
    throw parsingException(`[${what}] request body must be an object, found ${describe(value)}`);
  }
  return value;
}
