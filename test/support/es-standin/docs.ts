import {
  EsError, actionValidation, documentMissing, mapperParsing, parsingException, unsupported, versionConflict,
} from './errors';
import { Json, JsonObject, clone, deepEqual, describe, isObject, own } from './json';
import { applyDocument } from './mapping';
import { SourceFilter, applySourceFilter } from './source-filter';
import { EsIndex, Store, StoredDoc, randomId } from './store';

/** ES status plus the per-document body (also used as a bulk item once `status` is added). */
export interface OpResult {
  status: number;
  body: JsonObject;
}

export interface WriteOptions {
  ifSeqNo?: number;
  ifPrimaryTerm?: number;
  forcedRefresh?: boolean;
}

export function validateId (id: string): void {
  if (id === '') {
    throw actionValidation('if _id is specified it must not be empty');
  }
  const bytes = Buffer.byteLength(id);
  if (bytes > 512) {
    throw actionValidation(`id [${id}] is too long, must be no longer than 512 bytes but was: ${bytes}`);
  }
}

/** ES auto ids are 20 url-safe base64 characters. */
export function autoId (): string {
  return randomId(15);
}

function checkSeqNo (idx: EsIndex, id: string, existing: StoredDoc | undefined, opts: WriteOptions): void {
  if (opts.ifSeqNo === undefined && opts.ifPrimaryTerm === undefined) {
    return;
  }
  if (opts.ifSeqNo === undefined || opts.ifPrimaryTerm === undefined) {
    throw actionValidation('ifSeqNo and ifPrimaryTerm must be set together');
  }
  if (!existing) {
    throw versionConflict(idx.name, idx.uuid, id,
      `required seqNo [${opts.ifSeqNo}], primary term [${opts.ifPrimaryTerm}] but no document was found`);
  }
  if (existing.seqNo !== opts.ifSeqNo || existing.primaryTerm !== opts.ifPrimaryTerm) {
    throw versionConflict(idx.name, idx.uuid, id,
      `required seqNo [${opts.ifSeqNo}], primary term [${opts.ifPrimaryTerm}]. current document has seqNo [${existing.seqNo}] and primary term [${existing.primaryTerm}]`);
  }
}

function writeBody (idx: EsIndex, doc: { id: string; version: number; seqNo: number }, result: string, opts: WriteOptions): JsonObject {
  const body: JsonObject = {
    _index: idx.name,
    _type: '_doc',
    _id: doc.id,
    _version: doc.version,
    result,
    _shards: idx.shards(),
    _seq_no: doc.seqNo,
    _primary_term: 1,
  };
  if (opts.forcedRefresh === true) {
    body.forced_refresh = true;
  }
  return body;
}

function asSource (source: Json, id: string): JsonObject {
  if (!isObject(source)) {
    throw mapperParsing(`failed to parse, document is empty or not an object: ${describe(source)} (id [${id}])`);
  }
  return source;
}

/** Stores a new revision: checks the mapping, bumps version/seq_no. */
function storeRevision (storeRef: Store, idx: EsIndex, id: string, source: JsonObject, previous: StoredDoc | undefined): StoredDoc {
  const updatedMapping = applyDocument(idx.mapping, source, id);
  if (updatedMapping !== null) {
    idx.setMapping(updatedMapping);
  }
  const version = previous ? previous.version + 1 : (idx.tombstones.get(id) ?? 0) + 1;
  const doc: StoredDoc = {
    id,
    source,
    version,
    seqNo: idx.nextSeqNo(),
    primaryTerm: 1,
    order: storeRef.nextOrder(),
    generation: idx.generation,
  };
  idx.docs.set(id, doc);
  idx.tombstones.delete(id);
  return doc;
}

export function getDoc (idx: EsIndex, id: string, filter: SourceFilter): OpResult {
  idx.assertOpen();
  const doc = idx.docs.get(id);
  if (!doc) {
    return { status: 404, body: { _index: idx.name, _type: '_doc', _id: id, found: false } };
  }
  return { status: 200, body: foundBody(idx, doc, filter) };
}

export function foundBody (idx: EsIndex, doc: StoredDoc, filter: SourceFilter): JsonObject {
  const body: JsonObject = {
    _index: idx.name,
    _type: '_doc',
    _id: doc.id,
    _version: doc.version,
    _seq_no: doc.seqNo,
    _primary_term: doc.primaryTerm,
    found: true,
  };
  const source = applySourceFilter(doc.source, filter);
  if (source !== undefined) {
    body._source = source;
  }
  return body;
}

export function indexDoc (
  storeRef: Store,
  idx: EsIndex,
  id: string | undefined,
  source: Json,
  opType: 'index' | 'create',
  opts: WriteOptions,
): OpResult {
  const docId = id ?? autoId();
  validateId(docId);
  const body = clone(asSource(source, docId));
  const existing = idx.docs.get(docId);
  if (opType === 'create' && existing) {
    throw versionConflict(idx.name, idx.uuid, docId, `document already exists (current version [${existing.version}])`);
  }
  checkSeqNo(idx, docId, existing, opts);
  const doc = storeRevision(storeRef, idx, docId, body, existing);
  return { status: existing ? 200 : 201, body: writeBody(idx, doc, existing ? 'updated' : 'created', opts) };
}

const UPDATE_KEYS = new Set(['doc', 'upsert', 'doc_as_upsert', 'detect_noop', '_source', 'script', 'scripted_upsert']);

export interface UpdateOptions extends WriteOptions {
  sourceFilter?: SourceFilter;
}

export function updateDoc (storeRef: Store, idx: EsIndex, id: string, request: Json, opts: UpdateOptions): OpResult {
  validateId(id);
  if (!isObject(request)) {
    throw parsingException(`[UpdateRequest] expected an object but found ${describe(request)}`);
  }
  for (const key of Object.keys(request)) {
    if (!UPDATE_KEYS.has(key)) {
      throw new EsError(400, 'x_content_parse_exception', `[1:2] [UpdateRequest] unknown field [${key}]`);
    }
  }
  if (request.script !== undefined || request.scripted_upsert !== undefined) {
    throw unsupported('scripted updates ([script] in _update)');
  }
  if (request.doc === undefined) {
    throw actionValidation('script or doc is missing');
  }
  const partial = asSource(request.doc, id);
  const filter = request._source !== undefined ? sourceFilterOf(request._source) : opts.sourceFilter;
  const existing = idx.docs.get(id);
  if (!existing) {
    let created: JsonObject;
    if (request.upsert !== undefined && request.upsert !== null) {
      created = clone(asSource(request.upsert, id));
    }
    else if (request.doc_as_upsert === true) {
      created = clone(partial);
    }
    else {
      throw documentMissing(idx.name, idx.uuid, id);
    }
    const doc = storeRevision(storeRef, idx, id, created, undefined);
    return { status: 201, body: withGet(writeBody(idx, doc, 'created', opts), doc, filter) };
  }
  checkSeqNo(idx, id, existing, opts);
  const merged = mergeSource(existing.source, partial);
  if (request.detect_noop !== false && deepEqual(merged, existing.source)) {
    const body = writeBody(idx, existing, 'noop', opts);
    body._shards = { total: 0, successful: 0, failed: 0 };
    return { status: 200, body: withGet(body, existing, filter) };
  }
  const doc = storeRevision(storeRef, idx, id, merged, existing);
  return { status: 200, body: withGet(writeBody(idx, doc, 'updated', opts), doc, filter) };
}

function sourceFilterOf (value: Json): SourceFilter {
  if (typeof value === 'boolean') {
    return { enabled: value, includes: [], excludes: [] };
  }
  if (typeof value === 'string' || Array.isArray(value)) {
    return { enabled: true, includes: (Array.isArray(value) ? value : [value]).map(String), excludes: [] };
  }
  if (isObject(value)) {
    const list = (v: Json | undefined): string[] => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(String));
    return { enabled: true, includes: list(value.includes ?? value.include), excludes: list(value.excludes ?? value.exclude) };
  }
  throw parsingException(`[_source] unexpected value ${describe(value)}`);
}

function withGet (body: JsonObject, doc: StoredDoc, filter: SourceFilter | undefined): JsonObject {
  if (filter === undefined) {
    return body;
  }
  const get: JsonObject = { _seq_no: doc.seqNo, _primary_term: doc.primaryTerm, found: true };
  const source = applySourceFilter(doc.source, filter);
  if (source !== undefined) {
    get._source = source;
  }
  body.get = get;
  return body;
}

/** Partial-update merge as ES does it: objects merge recursively, anything else replaces. */
export function mergeSource (target: JsonObject, changes: JsonObject): JsonObject {
  const out: JsonObject = { ...target };
  for (const [key, value] of Object.entries(changes)) {
    const current = own(out, key);
    out[key] = isObject(value) && isObject(current) ? mergeSource(current, value) : clone(value);
  }
  return out;
}

export function deleteDoc (storeRef: Store, idx: EsIndex, id: string, opts: WriteOptions): OpResult {
  validateId(id);
  const existing = idx.docs.get(id);
  checkSeqNo(idx, id, existing, opts);
  const version = (existing ? existing.version : idx.tombstones.get(id) ?? 0) + 1;
  const seqNo = idx.nextSeqNo();
  storeRef.nextOrder();
  idx.docs.delete(id);
  idx.tombstones.set(id, version);
  const body = writeBody(idx, { id, version, seqNo }, existing ? 'deleted' : 'not_found', opts);
  return { status: existing ? 200 : 404, body };
}
