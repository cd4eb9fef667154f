import { OpResult, deleteDoc, indexDoc, updateDoc } from './docs';
import { EsError, actionValidation, illegalArgument, mapperParsing, toEsError, unsupported } from './errors';
import { Json, JsonObject, isObject, parseJson } from './json';
import { SourceFilter } from './source-filter';
import { Store } from './store';

type Action = 'index' | 'create' | 'update' | 'delete';
const ACTIONS: Action[] = ['index', 'create', 'update', 'delete'];

interface BulkItem {
  action: Action;
  index: string;
  id: string | undefined;
  ifSeqNo?: number;
  ifPrimaryTerm?: number;
  source?: Json | EsError;
  sourceFilter?: SourceFilter;
}

const META_KEYS = new Set(['_index', '_id', '_type', 'if_seq_no', 'if_primary_term', 'retry_on_conflict', 'require_alias', '_source']);

function metaNumber (value: Json, key: string, line: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw illegalArgument(`Action/metadata line [${line}] has an invalid [${key}] value`);
  }
  return value;
}

/** Parses an NDJSON bulk body; malformed action lines fail the whole request, like ES. */
export function parseBulk (text: string, defaultIndex: string | undefined, defaultFilter?: SourceFilter): BulkItem[] {
  if (text.length > 0 && !text.endsWith('\n')) {
    throw illegalArgument('The bulk request must be terminated by a newline [\\n]');
  }
  const lines = text.split('\n');
  lines.pop();
  const items: BulkItem[] = [];
  const problems: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    if (lines[i].trim() === '') {
      continue;
    }
    let header: Json;
    try {
      header = parseJson(lines[i]);
    }
    catch (error) {
      throw illegalArgument(`Malformed action/metadata line [${lineNo}], expected START_OBJECT or END_OBJECT but found [${String(error)}]`);
    }
    if (!isObject(header) || Object.keys(header).length !== 1) {
      throw illegalArgument(`Malformed action/metadata line [${lineNo}], expected a simple value for field [action] but found an invalid structure`);
    }
    const [actionName, metaValue] = Object.entries(header)[0];
    const action = ACTIONS.find(a => a === actionName);
    if (action === undefined) {
      throw illegalArgument(`Malformed action/metadata line [${lineNo}], expected one of [create, delete, index, update] but found [${actionName}]`);
    }
    if (!isObject(metaValue)) {
      throw illegalArgument(`Malformed action/metadata line [${lineNo}], expected START_OBJECT but found [${JSON.stringify(metaValue)}]`);
    }
    const item: BulkItem = { action, index: defaultIndex ?? '', id: undefined, sourceFilter: defaultFilter };
    for (const [key, value] of Object.entries(metaValue)) {
      if (!META_KEYS.has(key)) {
        if (['routing', 'version', 'version_type', 'pipeline', 'dynamic_templates'].includes(key)) {
          throw unsupported(`bulk metadata [${key}] (line [${lineNo}])`);
        }
        throw illegalArgument(`Action/metadata line [${lineNo}] contains an unknown parameter [${key}]`);
      }
      if (key === '_index') {
        item.index = String(value);
      }
      else if (key === '_id') {
        item.id = value === null ? undefined : String(value);
      }
      else if (key === '_type') {
        if (value !== '_doc' && value !== null) {
          throw unsupported(`mapping types other than _doc (line [${lineNo}])`);
        }
      }
      else if (key === 'if_seq_no') {
        item.ifSeqNo = metaNumber(value, key, lineNo);
      }
      else if (key === 'if_primary_term') {
        item.ifPrimaryTerm = metaNumber(value, key, lineNo);
      }
      else if (key === '_source') {
        item.sourceFilter = typeof value === 'boolean' ? { enabled: value, includes: [], excludes: [] } : undefined;
        if (typeof value !== 'boolean') {
          throw unsupported(`non-boolean [_source] in bulk metadata (line [${lineNo}])`);
        }
      }
    }
    if (item.index === '') {
      problems.push('index is missing');
    }
    if ((action === 'update' || action === 'delete') && item.id === undefined) {
      problems.push('id is missing');
    }
    if (action !== 'delete') {
      i++;
      if (i >= lines.length) {
        throw illegalArgument(`The bulk request must be terminated by a newline [\\n]`);
      }
      try {
        item.source = parseJson(lines[i]);
      }
      catch (error) {
        item.source = mapperParsing(`failed to parse: ${String(error)}`);
      }
    }
    items.push(item);
  }
  if (problems.length > 0) {
    throw actionValidation([...new Set(problems)].join(';'));
  }
  if (items.length === 0) {
    throw actionValidation('no requests added');
  }
  return items;
}

export function executeBulk (store: Store, items: BulkItem[], forcedRefresh: boolean): JsonObject {
  const started = Date.now();
  let errors = false;
  const results: Json[] = [];
  for (const item of items) {
    let result: OpResult;
    try {
      result = executeItem(store, item, forcedRefresh);
    }
    catch (error) {
      const esError = toEsError(error);
      result = {
        status: esError.status,
        body: { _index: item.index, _type: '_doc', _id: item.id ?? null, status: esError.status, error: esError.toCause() },
      };
    }
    if (result.status >= 400) {
      errors = true;
    }
    results.push({ [item.action]: { ...result.body, status: result.status } });
  }
  return { took: Date.now() - started, errors, items: results };
}

function executeItem (store: Store, item: BulkItem, forcedRefresh: boolean): OpResult {
  if (item.source instanceof EsError) {
    throw item.source;
  }
  const opts = { ifSeqNo: item.ifSeqNo, ifPrimaryTerm: item.ifPrimaryTerm, forcedRefresh };
  // ES auto-creates missing indices for every bulk action except delete.
  const idx = store.writeIndex(item.index, item.action !== 'delete');
  const id = item.id;
  switch (item.action) {
    case 'index':
    case 'create':
      return indexDoc(store, idx, id, item.source ?? null, item.action, opts);
    case 'update':
      return updateDoc(store, idx, id ?? '', item.source ?? null, { ...opts, sourceFilter: item.sourceFilter });
    case 'delete':
      return deleteDoc(store, idx, id ?? '', opts);
  }
}
