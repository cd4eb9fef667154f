import { deleteDoc, indexDoc } from './docs';
import { EsError, parsingException, unsupported } from './errors';
import { Json, JsonObject, describe, isObject } from './json';
import { matchDocuments } from './search';
import { EsIndex, Store } from './store';

export interface ByQueryOptions {
  maxDocs?: number;
  conflicts: 'abort' | 'proceed';
  scrollSize: number;
}

interface ByQueryBody {
  query: Json | undefined;
  maxDocs: number | undefined;
  conflicts: 'abort' | 'proceed' | undefined;
}

function parseBody (raw: Json | undefined, action: string): ByQueryBody {
  const body = raw === undefined || raw === null ? {} : raw;
  if (!isObject(body)) {
    throw parsingException(`[${action}] request body must be an object, found ${describe(body)}`);
  }
  const out: ByQueryBody = { query: undefined, maxDocs: undefined, conflicts: undefined };
  for (const [key, value] of Object.entries(body)) {
    if (key === 'query') {
      out.query = value;
    }
    else if (key === 'max_docs' || key === 'size') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
        throw parsingException(`[${key}] must be a positive integer, found ${describe(value)}`);
      }
      out.maxDocs = value;
    }
    else if (key === 'conflicts') {
      if (value !== 'abort' && value !== 'proceed') {
        throw parsingException(`conflicts may only be "proceed" or "abort" but was [${describe(value)}]`);
      }
      out.conflicts = value;
    }
    else if (key === 'script') {
      throw unsupported(`scripts in [${action}]`);
    }
    else {
      throw unsupported(`[${action}] body key [${key}]`);
    }
  }
  return out;
}

function baseResponse (started: number, total: number, batches: number): JsonObject {
  return {
    took: Date.now() - started,
    timed_out: false,
    total,
    updated: 0,
    deleted: 0,
    batches,
    version_conflicts: 0,
    noops: 0,
    retries: { bulk: 0, search: 0 },
    throttled_millis: 0,
    requests_per_second: -1.0,
    throttled_until_millis: 0,
    failures: [],
  };
}

/** Matches first (a point-in-time snapshot, like the ES scroll), then applies in index order. */
function targets (indices: EsIndex[], query: Json | undefined, maxDocs: number | undefined) {
  const hits = matchDocuments(indices, query, Date.now())
    .sort((a, b) => a.idx.name.localeCompare(b.idx.name) || a.doc.order - b.doc.order);
  return maxDocs === undefined ? hits : hits.slice(0, maxDocs);
}

export function deleteByQuery (store: Store, indices: EsIndex[], raw: Json | undefined, options: ByQueryOptions): JsonObject {
  const started = Date.now();
  const body = parseBody(raw, '_delete_by_query');
  const hits = targets(indices, body.query, body.maxDocs ?? options.maxDocs);
  const response = baseResponse(started, hits.length, Math.max(1, Math.ceil(hits.length / options.scrollSize)));
  let deleted = 0;
  for (const hit of hits) {
    deleteDoc(store, hit.idx, hit.doc.id, {});
    deleted++;
  }
  response.deleted = deleted;
  response.took = Date.now() - started;
  return response;
}

export function updateByQuery (store: Store, indices: EsIndex[], raw: Json | undefined, options: ByQueryOptions): JsonObject {
  const started = Date.now();
  const body = parseBody(raw, '_update_by_query');
  const conflicts = body.conflicts ?? options.conflicts;
  const hits = targets(indices, body.query, body.maxDocs ?? options.maxDocs);
  const response = baseResponse(started, hits.length, Math.max(1, Math.ceil(hits.length / options.scrollSize)));
  let updated = 0;
  const failures: Json[] = [];
  for (const hit of hits) {
    try {
      // Reindexing in place: version and seq_no move, the mapping picks up newly dynamic fields.
      indexDoc(store, hit.idx, hit.doc.id, hit.doc.source, 'index', {
        ifSeqNo: hit.doc.seqNo,
        ifPrimaryTerm: hit.doc.primaryTerm,
      });
      updated++;
    }
    catch (error) {
      if (!(error instanceof EsError)) {
        throw error;
      }
      if (error.status === 409 && conflicts === 'proceed') {
        response.version_conflicts = Number(response.version_conflicts) + 1;
        continue;
      }
      failures.push({ index: hit.idx.name, type: '_doc', id: hit.doc.id, cause: error.toCause(), status: error.status });
      break;
    }
  }
  response.updated = updated;
  response.failures = failures;
  response.took = Date.now() - started;
  return response;
}

export function taskRecord (store: Store, action: string, response: JsonObject): string {
  const id = store.nextTaskId();
  const [node, num] = id.split(':');
  store.tasks.set(id, {
    completed: true,
    task: {
      node,
      id: Number(num),
      type: 'transport',
      action,
      status: {
        total: response.total ?? 0,
        updated: response.updated ?? 0,
        created: 0,
        deleted: response.deleted ?? 0,
        batches: response.batches ?? 0,
        version_conflicts: response.version_conflicts ?? 0,
        noops: 0,
        retries: { bulk: 0, search: 0 },
        throttled_millis: 0,
        requests_per_second: -1.0,
        throttled_until_millis: 0,
      },
      description: action,
      start_time_in_millis: Date.now(),
      running_time_in_nanos: 0,
      cancellable: true,
      headers: {},
    },
    response,
  });
  return id;
}
