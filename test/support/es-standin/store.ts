import { randomBytes } from 'crypto';

import {
  EsError, illegalArgument, indexAlreadyExists, indexClosed, indexNotFound, invalidIndexName, mapperParsing, unsupported,
} from './errors';
import { Json, JsonObject, describe, isObject } from './json';
import { leafKeys, normalizeRootMapping } from './mapping';
import { FlatSettings, applySettings, flattenSettings, unflattenSettings, validateSettings } from './settings';

export interface StoredDoc {
  id: string;
  /** Never mutated after being stored: writes replace the object, so scroll snapshots stay stable. */
  source: JsonObject;
  version: number;
  seqNo: number;
  primaryTerm: number;
  /** Global write order, used as the Lucene doc-id tie-breaker when sorting. */
  order: number;
  /** Mapping generation at indexing time: fields mapped later are not indexed for this doc. */
  generation: number;
}

export function randomId (bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

export class EsIndex {
  readonly uuid = randomId(16).slice(0, 22);
  readonly creationDate = Date.now();
  private currentMapping: JsonObject = {};
  private mappingGeneration = 0;
  private readonly fieldGenerations = new Map<string, number>();
  readonly settings: FlatSettings = new Map();
  readonly aliases = new Map<string, JsonObject>();
  closed = false;
  readonly docs = new Map<string, StoredDoc>();
  /** Last version of deleted documents: ES keeps versions of tombstones. */
  readonly tombstones = new Map<string, number>();
  private seqNo = -1;

  constructor (readonly name: string) {
    this.settings.set('index.number_of_shards', '1');
    this.settings.set('index.number_of_replicas', '1');
    this.settings.set('index.routing.allocation.include._tier_preference', 'data_content');
  }

  get mapping (): JsonObject {
    return this.currentMapping;
  }

  get generation (): number {
    return this.mappingGeneration;
  }

  /**
   * Like ES, a field added to the mapping only applies to documents indexed
   * afterwards (until they are reindexed, e.g. by _update_by_query).
   */
  setMapping (mapping: JsonObject): void {
    const added = leafKeys(mapping).filter(key => !this.fieldGenerations.has(key));
    if (added.length > 0) {
      this.mappingGeneration += 1;
      for (const key of added) {
        this.fieldGenerations.set(key, this.mappingGeneration);
      }
    }
    this.currentMapping = mapping;
  }

  fieldGeneration (key: string): number {
    return this.fieldGenerations.get(key) ?? 0;
  }

  nextSeqNo (): number {
    this.seqNo += 1;
    return this.seqNo;
  }

  get label (): string {
    return `${this.name}/${this.uuid}`;
  }

  get maxResultWindow (): number {
    const value = this.settings.get('index.max_result_window');
    return typeof value === 'string' ? Number(value) : 10000;
  }

  get shardsTotal (): number {
    const value = this.settings.get('index.number_of_replicas');
    return 1 + (typeof value === 'string' ? Number(value) : 1);
  }

  /** Settings including the internal ones ES reports (uuid, creation date, version). */
  settingsJson (): JsonObject {
    const all: FlatSettings = new Map(this.settings);
    all.set('index.uuid', this.uuid);
    all.set('index.creation_date', String(this.creationDate));
    all.set('index.provided_name', this.name);
    all.set('index.version.created', '7170099');
    return unflattenSettings(all);
  }

  assertOpen (): void {
    if (this.closed) {
      throw indexClosed(this.name, this.uuid);
    }
  }

  shards (): JsonObject {
    return { total: this.shardsTotal, successful: 1, failed: 0 };
  }

  storeSize (): number {
    let size = 0;
    for (const doc of this.docs.values()) {
      size += Buffer.byteLength(JSON.stringify(doc.source));
    }
    return size;
  }
}

export type WildcardState = 'open' | 'closed';

export interface ResolveOptions {
  ignoreUnavailable: boolean;
  allowNoIndices: boolean;
  expandWildcards: Set<WildcardState>;
}

export const DEFAULT_RESOLVE: ResolveOptions = {
  ignoreUnavailable: false,
  allowNoIndices: true,
  expandWildcards: new Set<WildcardState>(['open']),
};

const INVALID_CHARS = ['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':'];

export function validateIndexName (name: string, makeError: (why: string) => EsError = w => invalidIndexName(name, w)): void {
  if (name !== name.toLowerCase()) {
    throw makeError('must be lowercase');
  }
  if (INVALID_CHARS.some(c => name.includes(c))) {
    throw makeError('must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?, :, #]');
  }
  if (/^[_\-+]/.test(name)) {
    throw makeError('must not start with \'_\', \'-\', or \'+\'');
  }
  if (name === '.' || name === '..' || name === '') {
    throw makeError('must not be \'.\' or \'..\'');
  }
  if (Buffer.byteLength(name) > 255) {
    throw makeError(`index name is too long, (${Buffer.byteLength(name)} > 255)`);
  }
}

function wildcardToRegex (pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map(p => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

export class Store {
  readonly indices = new Map<string, EsIndex>();
  readonly tasks = new Map<string, JsonObject>();
  private writeOrder = 0;
  private taskCounter = 0;
  readonly nodeId = randomId(16).slice(0, 22);

  nextOrder (): number {
    this.writeOrder += 1;
    return this.writeOrder;
  }

  nextTaskId (): string {
    this.taskCounter += 1;
    return `${this.nodeId}:${this.taskCounter}`;
  }

  aliasExists (name: string): boolean {
    return [...this.indices.values()].some(idx => idx.aliases.has(name));
  }

  createIndex (name: string, body: Json | undefined): EsIndex {
    validateIndexName(name);
    const existing = this.indices.get(name);
    if (existing) {
      throw indexAlreadyExists(name, existing.uuid);
    }
    if (this.aliasExists(name)) {
      throw invalidIndexName(name, 'already exists as alias');
    }
    const index = new EsIndex(name);
    let aliases: JsonObject = {};
    if (body !== undefined && body !== null) {
      if (!isObject(body)) {
        throw mapperParsing(`Failed to parse create index body: expected an object but found ${describe(body)}`);
      }
      for (const [key, value] of Object.entries(body)) {
        if (key === 'settings') {
          const settings = flattenSettings(value);
          validateSettings(settings, { creating: true, open: true, indexLabel: 'index', current: index.settings });
          applySettings(index.settings, settings);
        }
        else if (key === 'mappings') {
          if (value !== null) {
            index.setMapping(normalizeRootMapping(value));
          }
        }
        else if (key === 'aliases') {
          if (!isObject(value)) {
            throw illegalArgument('[aliases] must be an object');
          }
          aliases = value;
        }
        else {
          throw illegalArgument(`unknown key [${key}] for create index`);
        }
      }
    }
    for (const [alias, props] of Object.entries(aliases)) {
      this.checkAlias(alias, props);
    }
    this.indices.set(name, index);
    for (const [alias, props] of Object.entries(aliases)) {
      index.aliases.set(alias, isObject(props) ? props : {});
    }
    return index;
  }

  checkAlias (alias: string, props: Json): void {
    validateIndexName(alias, why => new EsError(400, 'invalid_alias_name_exception', `Invalid alias name [${alias}]: ${why}`));
    if (this.indices.has(alias)) {
      throw new EsError(400, 'invalid_alias_name_exception',
        `Invalid alias name [${alias}]: an index or data stream exists with the same name as the alias`);
    }
    if (!isObject(props)) {
      throw illegalArgument(`alias [${alias}] definition must be an object`);
    }
    for (const key of Object.keys(props)) {
      if (key !== 'is_write_index') {
        throw unsupported(`alias option [${key}]`);
      }
    }
  }

  /** Read-side name resolution: comma lists, `*` wildcards, `_all`, aliases. */
  resolve (expression: string | undefined, options: ResolveOptions = DEFAULT_RESOLVE): EsIndex[] {
    const expr = expression === undefined || expression === '' || expression === '_all' ? '*' : expression;
    const found = new Map<string, EsIndex>();
    const sorted = [...this.indices.values()].sort((a, b) => a.name.localeCompare(b.name));
    for (const part of expr.split(',')) {
      if (part.startsWith('-')) {
        throw unsupported(`index exclusion expressions [${part}]`);
      }
      if (part.includes('*')) {
        const re = wildcardToRegex(part);
        for (const idx of sorted) {
          const state: WildcardState = idx.closed ? 'closed' : 'open';
          const named = re.test(idx.name) || [...idx.aliases.keys()].some(a => re.test(a));
          if (named && options.expandWildcards.has(state)) {
            found.set(idx.name, idx);
          }
        }
        continue;
      }
      const idx = this.indices.get(part);
      if (idx) {
        found.set(idx.name, idx);
        continue;
      }
      const targets = sorted.filter(i => i.aliases.has(part));
      if (targets.length > 0) {
        targets.forEach(t => found.set(t.name, t));
      }
      else if (!options.ignoreUnavailable) {
        throw indexNotFound(part);
      }
    }
    if (found.size === 0 && !options.allowNoIndices) {
      throw indexNotFound(expr);
    }
    return [...found.values()];
  }

  /** Open indices among the resolved ones: a closed one is an error unless ignore_unavailable. */
  openOnly (indices: EsIndex[], ignoreUnavailable: boolean): EsIndex[] {
    return indices.filter(idx => {
      if (idx.closed && !ignoreUnavailable) {
        idx.assertOpen();
      }
      return !idx.closed;
    });
  }

  /** Write-side resolution: one concrete index (alias with a single/write index), optional auto-creation. */
  writeIndex (name: string, autoCreate: boolean): EsIndex {
    const direct = this.indices.get(name);
    if (direct) {
      direct.assertOpen();
      return direct;
    }
    const targets = [...this.indices.values()].filter(i => i.aliases.has(name));
    if (targets.length > 0) {
      const writeTargets = targets.length === 1
        ? targets
        : targets.filter(t => t.aliases.get(name)?.is_write_index === true);
      if (writeTargets.length !== 1) {
        throw illegalArgument(
          `no write index is defined for alias [${name}]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index`);
      }
      writeTargets[0].assertOpen();
      return writeTargets[0];
    }
    if (!autoCreate) {
      throw indexNotFound(name);
    }
    return this.createIndex(name, undefined);
  }

  deleteIndex (idx: EsIndex): void {
    this.indices.delete(idx.name);
  }

  /** Validates against every target first, then applies (ES never half-applies put-settings). */
  updateSettings (indices: EsIndex[], body: Json): void {
    const settings = flattenSettings(body);
    if (settings.size === 0) {
      throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: no settings to update;');
    }
    for (const idx of indices) {
      validateSettings(settings, { creating: false, open: !idx.closed, indexLabel: idx.label, current: idx.settings });
    }
    indices.forEach(idx => applySettings(idx.settings, settings));
  }
}
