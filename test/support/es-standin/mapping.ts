import { illegalArgument, mapperParsing, strictDynamic, unsupported } from './errors';
import { Json, JsonObject, clone, deepEqual, describe, isObject, own } from './json';
import { DEFAULT_DATE_FORMAT, assertSupportedDateFormat, parseDate, parseIsoDate } from './values';

/**
 * Mappings are kept in the normalized shape ES returns from GET _mapping:
 * object fields carry no `type` (nested ones do), `dynamic` is a string and
 * empty `properties` are omitted.
 */

const KNOWN_TYPES = new Set([
  'text', 'match_only_text', 'keyword', 'constant_keyword', 'wildcard',
  'long', 'integer', 'short', 'byte', 'double', 'float', 'half_float', 'scaled_float', 'unsigned_long',
  'date', 'date_nanos', 'boolean', 'binary',
  'integer_range', 'float_range', 'long_range', 'double_range', 'date_range', 'ip_range',
  'object', 'nested', 'flattened', 'join', 'alias',
  'geo_point', 'geo_shape', 'point', 'shape', 'ip', 'version', 'murmur3',
  'completion', 'search_as_you_type', 'token_count', 'dense_vector', 'sparse_vector',
  'rank_feature', 'rank_features', 'percolator', 'histogram', 'aggregate_metric_double',
]);

const ROOT_KEYS = new Set(['properties', 'dynamic', '_meta', 'date_detection', 'numeric_detection']);
const OBJECT_KEYS = new Set(['type', 'properties', 'dynamic', 'enabled']);
const NESTED_KEYS = new Set(['type', 'properties', 'dynamic', 'enabled', 'include_in_parent', 'include_in_root']);

/** Leaf parameters that ES lets a put-mapping change on an existing field. */
const UPDATABLE_LEAF_PARAMS = new Set([
  'ignore_above', 'ignore_malformed', 'fields', 'meta', 'boost', 'search_analyzer',
  'search_quote_analyzer', 'copy_to', 'eager_global_ordinals',
]);

export type Dynamic = 'true' | 'false' | 'strict';

export function isObjectMapping (def: JsonObject): boolean {
  return def.type === undefined || def.type === 'object' || def.type === 'nested';
}

function normalizeDynamic (value: Json, path: string): Dynamic {
  const text = typeof value === 'boolean' ? String(value) : value;
  if (text === 'runtime') {
    throw unsupported(`dynamic [runtime] (field [${path || '_doc'}])`);
  }
  if (text !== 'true' && text !== 'false' && text !== 'strict') {
    throw mapperParsing(`Could not convert [${path ? `${path}.` : ''}dynamic] to boolean`);
  }
  return text;
}

function unsupportedParams (name: string, params: JsonObject): never {
  const list = Object.entries(params).map(([k, v]) => `[${k} : ${describe(v)}]`).join(' ');
  throw mapperParsing(`Mapping definition for [${name}] has unsupported parameters:  ${list}`);
}

/** Validates and normalizes a `mappings` body (create index / put mapping). */
export function normalizeRootMapping (body: Json): JsonObject {
  if (!isObject(body)) {
    throw mapperParsing(`Failed to parse mapping: Expected map but got ${describe(body)}`);
  }
  const unknown: JsonObject = {};
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(body)) {
    if (value === null) {
      continue;
    }
    if (key === 'dynamic_templates') {
      if (Array.isArray(value) && value.length === 0) {
        continue;
      }
      throw unsupported('dynamic_templates in mappings');
    }
    if (['_source', '_routing', 'runtime', '_field_names', 'dynamic_date_formats', '_all', 'enabled'].includes(key)) {
      throw unsupported(`mapping parameter [${key}]`);
    }
    if (!ROOT_KEYS.has(key)) {
      unknown[key] = value;
      continue;
    }
    if (key === 'dynamic') {
      out.dynamic = normalizeDynamic(value, '');
    }
    else if (key === '_meta') {
      if (!isObject(value)) {
        throw mapperParsing('[_meta] must be an object');
      }
      out._meta = clone(value);
    }
    else if (key === 'properties') {
      const props = normalizeProperties(value, '');
      if (Object.keys(props).length > 0) {
        out.properties = props;
      }
    }
    else {
      if (typeof value !== 'boolean') {
        throw mapperParsing(`Failed to parse value [${describe(value)}] as only [true] or [false] are allowed.`);
      }
      out[key] = value;
    }
  }
  if (Object.keys(unknown).length > 0) {
    const list = Object.entries(unknown).map(([k, v]) => `[${k} : ${describe(v)}]`).join(' ');
    throw mapperParsing(`Root mapping definition has unsupported parameters:  ${list}`);
  }
  return out;
}

function normalizeProperties (value: Json, parentPath: string): JsonObject {
  if (!isObject(value)) {
    throw mapperParsing(`Expected map for property [properties] on field [${parentPath || '_doc'}] but got ${describe(value)}`);
  }
  const out: JsonObject = {};
  for (const [name, def] of Object.entries(value)) {
    if (name === '' || name.trim() === '') {
      throw mapperParsing('field name cannot be an empty string');
    }
    if (name.includes('.')) {
      // ES expands dotted names ("a.b") into object mappings.
      const [head, ...rest] = name.split('.');
      if (head === '' || rest.some(part => part === '')) {
        throw illegalArgument(`field name [${name}] cannot contain empty segments`);
      }
      const expanded = normalizeProperties({ [head]: { properties: { [rest.join('.')]: def } } }, parentPath);
      mergeInto(out, expanded, parentPath);
      continue;
    }
    const path = parentPath ? `${parentPath}.${name}` : name;
    const normalized = normalizeField(name, path, def);
    if (own(out, name) !== undefined) {
      mergeInto(out, { [name]: normalized }, parentPath);
    }
    else {
      out[name] = normalized;
    }
  }
  return out;
}

function mergeInto (target: JsonObject, addition: JsonObject, parentPath: string): void {
  const merged = mergeProperties(target, addition, parentPath);
  for (const key of Object.keys(merged)) {
    target[key] = merged[key];
  }
}

function normalizeField (name: string, path: string, def: Json): JsonObject {
  if (!isObject(def)) {
    throw mapperParsing(`Expected map for property [${name}] on field [${path}] but got ${describe(def)}`);
  }
  const type = def.type ?? 'object';
  if (typeof type !== 'string') {
    throw mapperParsing(`No type specified for field [${name}]`);
  }
  if (!KNOWN_TYPES.has(type)) {
    throw mapperParsing(`No handler for type [${type}] declared on field [${name}]`);
  }
  if (type === 'object' || type === 'nested') {
    const allowed = type === 'nested' ? NESTED_KEYS : OBJECT_KEYS;
    const extra: JsonObject = {};
    const out: JsonObject = type === 'nested' ? { type: 'nested' } : {};
    for (const [key, value] of Object.entries(def)) {
      if (!allowed.has(key)) {
        extra[key] = value;
      }
      else if (key === 'dynamic') {
        out.dynamic = normalizeDynamic(value, path);
      }
      else if (key === 'properties') {
        const props = normalizeProperties(value, path);
        if (Object.keys(props).length > 0) {
          out.properties = props;
        }
      }
      else if (key !== 'type') {
        out[key] = clone(value);
      }
    }
    if (Object.keys(extra).length > 0) {
      unsupportedParams(name, extra);
    }
    return out;
  }
  const out: JsonObject = {};
  const extra: JsonObject = {};
  for (const [key, value] of Object.entries(def)) {
    if (key === 'properties' || key === 'dynamic' || key === 'enabled') {
      extra[key] = value;
    }
    else if (key === 'fields') {
      out.fields = normalizeMultiFields(value, path);
    }
    else {
      out[key] = clone(value);
    }
  }
  if (Object.keys(extra).length > 0) {
    unsupportedParams(name, extra);
  }
  if ((type === 'date' || type === 'date_nanos') && typeof out.format === 'string') {
    assertSupportedDateFormat(out.format, path);
  }
  return out;
}

function normalizeMultiFields (value: Json, path: string): JsonObject {
  if (!isObject(value)) {
    throw mapperParsing(`Expected map for property [fields] on field [${path}] but got ${describe(value)}`);
  }
  const out: JsonObject = {};
  for (const [name, def] of Object.entries(value)) {
    const field = normalizeField(name, `${path}.${name}`, def);
    if (isObjectMapping(field)) {
      throw mapperParsing(`Type [object] cannot be used in multi field [${path}.${name}]`);
    }
    out[name] = field;
  }
  return out;
}

/** Put-mapping semantics: new fields are added, compatible changes merged, conflicts answer 400. */
export function mergeRootMapping (existing: JsonObject, update: JsonObject): JsonObject {
  const out = clone(existing);
  for (const [key, value] of Object.entries(update)) {
    if (key === 'properties' && isObject(value)) {
      const current = isObject(out.properties) ? out.properties : {};
      const merged = mergeProperties(current, value, '');
      if (Object.keys(merged).length > 0) {
        out.properties = merged;
      }
    }
    else {
      out[key] = clone(value);
    }
  }
  return out;
}

function mergeProperties (current: JsonObject, update: JsonObject, parentPath: string): JsonObject {
  const out = clone(current);
  for (const [name, def] of Object.entries(update)) {
    const path = parentPath ? `${parentPath}.${name}` : name;
    const previous = own(out, name);
    if (!isObject(def)) {
      continue;
    }
    out[name] = isObject(previous) ? mergeField(path, previous, def) : clone(def);
  }
  return out;
}

function mergeField (path: string, previous: JsonObject, next: JsonObject): JsonObject {
  const prevObject = isObjectMapping(previous);
  const nextObject = isObjectMapping(next);
  if (prevObject !== nextObject) {
    throw illegalArgument(`can't merge a non object mapping [${path}] with an object mapping`);
  }
  if (prevObject) {
    if ((previous.type === 'nested') !== (next.type === 'nested')) {
      const [from, to] = previous.type === 'nested' ? ['nested', 'non-nested'] : ['non-nested', 'nested'];
      throw illegalArgument(`object mapping [${path}] can't be changed from ${from} to ${to}`);
    }
    if (next.enabled !== undefined && !deepEqual(next.enabled, previous.enabled ?? true)) {
      throw mapperParsing(`the [enabled] parameter can't be updated for the object mapping [${path}]`);
    }
    const out = clone(previous);
    if (next.dynamic !== undefined) {
      out.dynamic = next.dynamic;
    }
    if (isObject(next.properties)) {
      const merged = mergeProperties(isObject(out.properties) ? out.properties : {}, next.properties, path);
      if (Object.keys(merged).length > 0) {
        out.properties = merged;
      }
    }
    return out;
  }
  if (previous.type !== next.type) {
    throw illegalArgument(`mapper [${path}] cannot be changed from type [${String(previous.type)}] to [${String(next.type)}]`);
  }
  const out = clone(previous);
  const keys = new Set([...Object.keys(previous), ...Object.keys(next)]);
  for (const key of keys) {
    if (key === 'type') {
      continue;
    }
    if (key === 'fields') {
      if (isObject(next.fields)) {
        const merged = mergeProperties(isObject(previous.fields) ? previous.fields : {}, next.fields, path);
        out.fields = merged;
      }
      continue;
    }
    const before = own(previous, key);
    const after = own(next, key);
    if (UPDATABLE_LEAF_PARAMS.has(key)) {
      if (after !== undefined) {
        out[key] = clone(after);
      }
      continue;
    }
    if (!deepEqual(before ?? null, after ?? null)) {
      throw illegalArgument(
        `Mapper for [${path}] conflicts with existing mapper:\n\tCannot update parameter [${key}] from [${describe(before ?? 'default')}] to [${describe(after ?? 'default')}]`);
    }
  }
  return out;
}

export type FieldInfo =
  | { kind: 'id' }
  /** `path` locates the source value; `key` names the indexed field (differs for multi-fields). */
  | { kind: 'leaf'; path: string; key: string; type: string; params: JsonObject }
  | { kind: 'object'; path: string; def: JsonObject }
  | { kind: 'unmapped'; path: string };

const METADATA_FIELDS = new Set([
  '_index', '_source', '_routing', '_seq_no', '_version', '_type', '_ignored', '_field_names', '_primary_term', '_tier',
]);

/** Resolves a query/sort field path against a normalized root mapping. */
export function resolveField (mapping: JsonObject, path: string): FieldInfo {
  if (path === '_id') {
    return { kind: 'id' };
  }
  if (METADATA_FIELDS.has(path)) {
    throw unsupported(`queries or sorts on metadata field [${path}]`);
  }
  if (path.includes('*')) {
    throw unsupported(`wildcard field names [${path}]`);
  }
  const segments = path.split('.');
  let props: Json | undefined = mapping.properties;
  for (let i = 0; i < segments.length; i++) {
    const def: Json | undefined = isObject(props) ? own(props, segments[i]) : undefined;
    if (!isObject(def)) {
      return { kind: 'unmapped', path };
    }
    const last = i === segments.length - 1;
    if (isObjectMapping(def)) {
      if (def.type === 'nested') {
        throw unsupported(`queries on fields of nested mapping [${segments.slice(0, i + 1).join('.')}] (nested queries are not implemented)`);
      }
      if (def.enabled === false) {
        return { kind: 'unmapped', path };
      }
      if (last) {
        return { kind: 'object', path, def };
      }
      props = def.properties;
      continue;
    }
    const type = String(def.type);
    if (last) {
      return { kind: 'leaf', path, key: path, type, params: def };
    }
    const rest = segments.slice(i + 1).join('.');
    const sub = isObject(def.fields) ? own(def.fields, rest) : undefined;
    if (isObject(sub)) {
      // A multi-field indexes the parent's source value with its own type.
      return { kind: 'leaf', path: segments.slice(0, i + 1).join('.'), key: path, type: String(sub.type), params: sub };
    }
    return { kind: 'unmapped', path };
  }
  return { kind: 'unmapped', path };
}

/** Paths of every mapped leaf under an object mapping (used by `exists` on objects). */
export function leafPaths (def: JsonObject, prefix: string): string[] {
  const out: string[] = [];
  if (!isObject(def.properties)) {
    return out;
  }
  for (const [name, child] of Object.entries(def.properties)) {
    if (!isObject(child)) {
      continue;
    }
    const path = `${prefix}.${name}`;
    if (isObjectMapping(child)) {
      if (child.enabled !== false && child.type !== 'nested') {
        out.push(...leafPaths(child, path));
      }
    }
    else {
      out.push(path);
    }
  }
  return out;
}

/** Every indexed leaf field name of a mapping, multi-fields included. */
export function leafKeys (mapping: JsonObject): string[] {
  const out: string[] = [];
  const walk = (props: Json | undefined, prefix: string): void => {
    if (!isObject(props)) {
      return;
    }
    for (const [name, def] of Object.entries(props)) {
      if (!isObject(def)) {
        continue;
      }
      const path = prefix ? `${prefix}.${name}` : name;
      if (isObjectMapping(def)) {
        walk(def.properties, path);
        continue;
      }
      out.push(path);
      if (isObject(def.fields)) {
        for (const sub of Object.keys(def.fields)) {
          out.push(`${path}.${sub}`);
        }
      }
    }
  };
  walk(mapping.properties, '');
  return out;
}

interface DocWalk {
  id: string;
  changed: boolean;
  dateDetection: boolean;
  numericDetection: boolean;
}

/**
 * Checks a document against the mapping the way ES indexing does (type
 * validation, strict dynamic, dynamic field introduction). Returns the
 * updated mapping when dynamic fields were added, null when unchanged.
 */
export function applyDocument (mapping: JsonObject, source: JsonObject, id: string): JsonObject | null {
  const working = clone(mapping);
  const walk: DocWalk = {
    id,
    changed: false,
    dateDetection: working.date_detection !== false,
    numericDetection: working.numeric_detection === true,
  };
  const rootDynamic = typeof working.dynamic === 'string' ? working.dynamic : 'true';
  walkObject(walk, source, working, '', rootDynamic);
  return walk.changed ? working : null;
}

function walkObject (walk: DocWalk, obj: JsonObject, objectDef: JsonObject, path: string, inherited: string): void {
  const dynamic = typeof objectDef.dynamic === 'string' ? objectDef.dynamic : inherited;
  for (const [rawKey, value] of Object.entries(obj)) {
    if (rawKey.trim() === '') {
      throw mapperParsing(`failed to parse: field name cannot be an empty string`);
    }
    const segments = rawKey.split('.');
    if (segments.some(s => s === '')) {
      throw mapperParsing(`failed to parse: object field starting or ending with a [.] makes object resolution ambiguous: [${rawKey}]`);
    }
    walkField(walk, segments, value, objectDef, path, dynamic);
  }
}

function walkField (
  walk: DocWalk,
  segments: string[],
  value: Json,
  parentDef: JsonObject,
  parentPath: string,
  dynamic: string,
): void {
  const [name, ...rest] = segments;
  const fieldValue: Json = rest.length > 0 ? { [rest.join('.')]: value } : value;
  const path = parentPath ? `${parentPath}.${name}` : name;
  if (fieldValue === null || (Array.isArray(fieldValue) && fieldValue.every(v => v === null))) {
    return;
  }
  let props = isObject(parentDef.properties) ? parentDef.properties : undefined;
  let def = props === undefined ? undefined : own(props, name);
  if (!isObject(def)) {
    if (dynamic === 'strict') {
      throw strictDynamic(name, parentPath || '_doc');
    }
    if (dynamic !== 'true') {
      return;
    }
    const inferred = inferMapping(walk, fieldValue);
    if (inferred === null) {
      return;
    }
    if (props === undefined) {
      props = {};
      parentDef.properties = props;
    }
    props[name] = inferred;
    def = inferred;
    walk.changed = true;
  }
  if (isObjectMapping(def)) {
    if (def.enabled === false) {
      return;
    }
    for (const item of flatten(fieldValue)) {
      if (item === null) {
        continue;
      }
      if (!isObject(item)) {
        throw mapperParsing(`object mapping for [${path}] tried to parse field [${name}] as object, but found a concrete value`);
      }
      walkObject(walk, item, def, path, dynamic);
    }
    return;
  }
  for (const item of flatten(fieldValue)) {
    if (item !== null) {
      validateLeafValue(walk, path, def, item);
    }
  }
}

function flatten (value: Json): Json[] {
  if (!Array.isArray(value)) {
    return [value];
  }
  return value.flatMap(item => flatten(item));
}

const INTEGER_TYPES = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long']);
const FLOAT_TYPES = new Set(['double', 'float', 'half_float', 'scaled_float']);
const STRING_TYPES = new Set(['text', 'match_only_text', 'keyword', 'constant_keyword', 'wildcard', 'search_as_you_type']);

function validateLeafValue (walk: DocWalk, path: string, def: JsonObject, value: Json): void {
  const type = String(def.type);
  const fail = (): never => {
    throw mapperParsing(
      `failed to parse field [${path}] of type [${type}] in document with id '${walk.id}'. Preview of field's value: '${describe(value)}'`);
  };
  if (isObject(value)) {
    if (def.ignore_malformed === true) {
      return;
    }
    fail();
  }
  let ok = true;
  if (STRING_TYPES.has(type)) {
    ok = typeof value !== 'object';
  }
  else if (INTEGER_TYPES.has(type) || FLOAT_TYPES.has(type)) {
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    ok = Number.isFinite(n);
  }
  else if (type === 'boolean') {
    ok = value === true || value === false || value === 'true' || value === 'false' || value === '';
  }
  else if (type === 'date' || type === 'date_nanos') {
    const format = typeof def.format === 'string' ? def.format : DEFAULT_DATE_FORMAT;
    ok = parseDate(value, format) !== null;
  }
  if (!ok && def.ignore_malformed !== true) {
    fail();
  }
}

function inferMapping (walk: DocWalk, value: Json): JsonObject | null {
  if (Array.isArray(value)) {
    const first = value.find(v => v !== null && !(Array.isArray(v) && v.length === 0));
    return first === undefined ? null : inferMapping(walk, first);
  }
  if (value === null) {
    return null;
  }
  if (isObject(value)) {
    // Children get mapped by the walker, which descends with dynamic=true.
    return {};
  }
  if (typeof value === 'boolean') {
    return { type: 'boolean' };
  }
  if (typeof value === 'number') {
    return { type: Number.isInteger(value) ? 'long' : 'float' };
  }
  if (walk.dateDetection && /^\d{4}-\d{2}-\d{2}/.test(value) && parseIsoDate(value) !== null) {
    return { type: 'date' };
  }
  if (walk.numericDetection && value.trim() !== '' && Number.isFinite(Number(value))) {
    return { type: /^-?\d+$/.test(value.trim()) ? 'long' : 'float' };
  }
  return { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } };
}
