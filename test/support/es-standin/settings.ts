import { illegalArgument, unsupported } from './errors';
import { Json, JsonObject, describe, isObject } from './json';

/** Index settings are kept flat ("index.number_of_replicas" -> "1"), as ES does internally. */
export type SettingValue = string | string[];
export type FlatSettings = Map<string, SettingValue>;

const DYNAMIC = [
  'number_of_replicas', 'auto_expand_replicas', 'refresh_interval', 'max_result_window', 'max_inner_result_window',
  'max_rescore_window', 'max_docvalue_fields_search', 'max_script_fields', 'max_ngram_diff', 'max_shingle_diff',
  'max_refresh_listeners', 'max_terms_count', 'max_regex_length', 'max_slices_per_scroll',
  'max_adjacency_matrix_filters', 'analyze.', 'highlight.', 'routing.', 'gc_deletes', 'hidden', 'mapping.',
  'search.', 'indexing.', 'translog.', 'merge.', 'query.', 'priority', 'lifecycle.', 'unassigned.', 'requests.',
  'write.', 'queries.',
];
const STATIC = [
  'number_of_shards', 'number_of_routing_shards', 'routing_partition_size', 'analysis.', 'codec', 'similarity.',
  'sort.', 'store.', 'shard.', 'soft_deletes.', 'format', 'load_fixed_bitset_filters_eagerly',
];
const PRIVATE = ['uuid', 'creation_date', 'provided_name', 'version.', 'resize.', 'shrink.', 'routing.allocation.initial_recovery.'];
const CHANGES_SEMANTICS = ['blocks.', 'default_pipeline', 'final_pipeline'];

function matches (key: string, prefixes: string[]): boolean {
  return prefixes.some(p => (p.endsWith('.') ? key.startsWith(p) : key === p || key.startsWith(`${p}.`)));
}

/** Flattens a settings body; keys without the "index." prefix get it. A null value resets a setting. */
export function flattenSettings (body: Json): Map<string, SettingValue | null> {
  const out = new Map<string, SettingValue | null>();
  if (body === undefined || body === null) {
    return out;
  }
  if (!isObject(body)) {
    throw illegalArgument(`malformed settings: expected an object but found ${describe(body)}`);
  }
  const walk = (obj: JsonObject, prefix: string): void => {
    for (const [key, value] of Object.entries(obj)) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (isObject(value)) {
        walk(value, path);
      }
      else if (Array.isArray(value)) {
        out.set(path, value.map(v => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))));
      }
      else {
        out.set(path, value === null ? null : String(value));
      }
    }
  };
  walk(body, '');
  const normalized = new Map<string, SettingValue | null>();
  for (const [key, value] of out) {
    normalized.set(key.startsWith('index.') ? key : `index.${key}`, value);
  }
  return normalized;
}

export interface SettingsCheck {
  creating: boolean;
  open: boolean;
  indexLabel: string;
  current: FlatSettings;
}

/** Validates settings the way create-index / put-settings do. */
export function validateSettings (settings: Map<string, SettingValue | null>, check: SettingsCheck): void {
  const staticOnOpen: string[] = [];
  for (const [fullKey, value] of settings) {
    const key = fullKey.slice('index.'.length);
    if (matches(key, CHANGES_SEMANTICS)) {
      if (value === null || value === 'false' || value === '_none') {
        continue;
      }
      throw unsupported(`index setting [${fullKey}]`);
    }
    if (matches(key, PRIVATE)) {
      if (!check.creating && deepSame(check.current.get(fullKey), value)) {
        continue;
      }
      throw illegalArgument(`private index setting [${fullKey}] can not be set explicitly`);
    }
    const isStatic = matches(key, STATIC);
    if (!isStatic && !matches(key, DYNAMIC)) {
      throw illegalArgument(
        `unknown setting [${fullKey}] please check that any required plugins are installed, or check the breaking changes documentation for removed settings`);
    }
    if (check.creating || !isStatic || deepSame(check.current.get(fullKey), value)) {
      continue;
    }
    if (key === 'number_of_shards' || key === 'number_of_routing_shards') {
      throw illegalArgument(`final index setting [${fullKey}], not updateable`);
    }
    if (check.open) {
      staticOnOpen.push(fullKey);
    }
  }
  if (staticOnOpen.length > 0) {
    throw illegalArgument(
      `Can't update non dynamic settings [[${staticOnOpen.join(', ')}]] for open indices [[${check.indexLabel}]]`);
  }
  const window = settings.get('index.max_result_window');
  if (typeof window === 'string' && !(Number.isInteger(Number(window)) && Number(window) >= 1)) {
    throw illegalArgument(`Failed to parse value [${window}] for setting [index.max_result_window] must be >= 1`);
  }
}

function deepSame (a: SettingValue | null | undefined, b: SettingValue | null | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

export function applySettings (target: FlatSettings, update: Map<string, SettingValue | null>): void {
  for (const [key, value] of update) {
    if (value === null) {
      target.delete(key);
    }
    else {
      target.set(key, value);
    }
  }
}

/** Nested output form of GET _settings (all leaves are strings, as in ES). */
export function unflattenSettings (flat: FlatSettings): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of [...flat.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const parts = key.split('.');
    let node = out;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (!isObject(next)) {
        const created: JsonObject = {};
        node[part] = created;
        node = created;
      }
      else {
        node = next;
      }
    }
    node[parts[parts.length - 1]] = value;
  }
  return out;
}
