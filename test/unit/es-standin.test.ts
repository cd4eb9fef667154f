import { Client } from '@elastic/elasticsearch';
import should from 'should';

import { executeBulk, parseBulk } from '../support/es-standin/bulk';
import { deleteDoc, getDoc, indexDoc, updateDoc } from '../support/es-standin/docs';
import { EsError } from '../support/es-standin/errors';
import { EsStandin, startEsStandin } from '../support/es-standin';
import { Json, JsonObject } from '../support/es-standin/json';
import { applyDocument, mergeRootMapping, normalizeRootMapping } from '../support/es-standin/mapping';
import { ScrollRegistry, matchDocuments, search } from '../support/es-standin/search';
import { FULL_SOURCE, applySourceFilter } from '../support/es-standin/source-filter';
import { EsIndex, Store } from '../support/es-standin/store';
import { extractValues, parseDate, parseIsoDate, parseTimeValue, tokenize } from '../support/es-standin/values';

function esError (fn: () => unknown): EsError {
  try {
    fn();
  }
  catch (error) {
    if (error instanceof EsError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected an EsError');
}

function put (store: Store, idx: EsIndex, id: string, source: JsonObject): void {
  indexDoc(store, idx, id, source, 'index', {});
}

function ids (idx: EsIndex, query: Json): string[] {
  return matchDocuments([idx], query, Date.now()).map(h => h.doc.id).sort();
}

describe('es-standin', () => {
  describe('values', () => {
    it('extracts values through arrays, nested objects and dotted keys', () => {
      const source: JsonObject = { a: [{ b: 1 }, { b: [2, 3] }], 'c.d': 'x', c: { d: 'y' }, n: null };
      should(extractValues(source, 'a.b')).eql([1, 2, 3]);
      should(extractValues(source, 'c.d').sort()).eql(['x', 'y']);
      should(extractValues(source, 'n')).eql([]);
      should(extractValues(source, 'missing')).eql([]);
    });

    it('tokenizes like a lowercasing word splitter', () => {
      should(tokenize('Hello, World! foo_bar 3.14 l\'été')).eql(['hello', 'world', 'foo_bar', '3.14', 'l\'été']);
    });

    it('parses strict_date_optional_time as UTC and epoch_millis', () => {
      should(parseIsoDate('2021-03-04')).eql(Date.UTC(2021, 2, 4));
      should(parseIsoDate('2021-03-04T05:06:07.089Z')).eql(Date.UTC(2021, 2, 4, 5, 6, 7, 89));
      should(parseIsoDate('2021-03-04T05:06:07+02:00')).eql(Date.UTC(2021, 2, 4, 3, 6, 7));
      should(parseIsoDate('2021-02-30')).be.null();
      should(parseIsoDate('04/03/2021')).be.null();
      should(parseDate(1600000000000)).eql(1600000000000);
      should(parseDate('1600000000000')).eql(1600000000000);
      should(parseDate('not a date')).be.null();
    });

    it('parses time values and rejects unit-less ones', () => {
      should(parseTimeValue('5s', 'scroll')).eql(5000);
      should(parseTimeValue('1m', 'scroll')).eql(60000);
      should(esError(() => parseTimeValue('5', 'scroll')).status).eql(400);
    });
  });

  describe('mappings', () => {
    it('normalizes like GET _mapping: string dynamic, no object type, dotted names expanded', () => {
      const mapping = normalizeRootMapping({
        dynamic: false,
        properties: { 'a.b': { type: 'keyword' }, o: { type: 'object', dynamic: true, properties: {} } },
      });
      should(mapping).eql({
        dynamic: 'false',
        properties: { a: { properties: { b: { type: 'keyword' } } }, o: { dynamic: 'true' } },
      });
    });

    it('rejects unknown types, unknown root parameters and unsupported features', () => {
      should(esError(() => normalizeRootMapping({ properties: { f: { type: 'strnig' } } })).reason)
        .eql('No handler for type [strnig] declared on field [f]');
      should(esError(() => normalizeRootMapping({ _doc: { properties: {} } })).type).eql('mapper_parsing_exception');
      should(esError(() => normalizeRootMapping({ dynamic_templates: [{ x: {} }] })).reason)
        .match(/es-standin does not support dynamic_templates/);
      should(esError(() => normalizeRootMapping({ dynamic: 'runtime' })).reason).match(/es-standin does not support/);
    });

    it('merges new fields and refuses type changes', () => {
      const current = normalizeRootMapping({ properties: { a: { type: 'keyword' } } });
      const merged = mergeRootMapping(current, normalizeRootMapping({ _meta: { v: 1 }, properties: { b: { type: 'long' } } }));
      should(merged).eql({ _meta: { v: 1 }, properties: { a: { type: 'keyword' }, b: { type: 'long' } } });
      const conflict = esError(() => mergeRootMapping(current, normalizeRootMapping({ properties: { a: { type: 'text' } } })));
      should(conflict.reason).eql('mapper [a] cannot be changed from type [keyword] to [text]');
      should(esError(() => mergeRootMapping(current, normalizeRootMapping({ properties: { a: { properties: {} } } }))).reason)
        .match(/can't merge a non object mapping \[a\]/);
    });

    it('maps new fields dynamically, ignores them when dynamic=false, rejects them when strict', () => {
      const dynamic = applyDocument({}, { s: 'text', n: 1, f: 1.5, b: true, d: '2021-01-01T00:00:00Z', o: { x: 'y' } }, '1');
      should(dynamic).eql({
        properties: {
          s: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
          n: { type: 'long' },
          f: { type: 'float' },
          b: { type: 'boolean' },
          d: { type: 'date' },
          o: { properties: { x: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } } } },
        },
      });
      should(applyDocument({ dynamic: 'false' }, { anything: 1 }, '1')).be.null();
      const strict = esError(() => applyDocument({ dynamic: 'strict', properties: { o: { properties: {} } } }, { o: { z: 1 } }, '1'));
      should(strict.type).eql('strict_dynamic_mapping_exception');
      should(strict.reason).eql('mapping set to strict, dynamic introduction of [z] within [o] is not allowed');
    });

    it('rejects values that do not fit the mapped type', () => {
      const mapping = normalizeRootMapping({ properties: { n: { type: 'integer' }, d: { type: 'date' }, o: { properties: {} } } });
      should(applyDocument(mapping, { n: '12', d: 1600000000000 }, '1')).be.null();
      should(esError(() => applyDocument(mapping, { n: 'abc' }, '1')).reason)
        .match(/^failed to parse field \[n\] of type \[integer\] in document with id '1'/);
      should(esError(() => applyDocument(mapping, { d: 'yesterday' }, '1')).type).eql('mapper_parsing_exception');
      should(esError(() => applyDocument(mapping, { o: 'scalar' }, '1')).reason)
        .match(/object mapping for \[o\] tried to parse field \[o\] as object/);
    });
  });

  describe('documents', () => {
    let store: Store;
    let idx: EsIndex;

    beforeEach(() => {
      store = new Store();
      idx = store.createIndex('&i.c', { mappings: { properties: { name: { type: 'keyword' } } } });
    });

    it('versions, create conflicts and tombstones', () => {
      should(indexDoc(store, idx, 'a', { name: 'x' }, 'create', {}).status).eql(201);
      const conflict = esError(() => indexDoc(store, idx, 'a', { name: 'y' }, 'create', {}));
      should(conflict.status).eql(409);
      should(conflict.reason).eql('[a]: version conflict, document already exists (current version [1])');
      const replaced = indexDoc(store, idx, 'a', { name: 'y' }, 'index', {});
      should(replaced.body).containEql({ result: 'updated', _version: 2, _seq_no: 1 });
      should(deleteDoc(store, idx, 'a', {}).body).containEql({ result: 'deleted', _version: 3 });
      should(deleteDoc(store, idx, 'a', {}).status).eql(404);
      should(indexDoc(store, idx, 'a', { name: 'z' }, 'create', {}).body._version).eql(5);
      should(getDoc(idx, 'nope', FULL_SOURCE)).eql({
        status: 404, body: { _index: '&i.c', _type: '_doc', _id: 'nope', found: false },
      });
    });

    it('optimistic concurrency with if_seq_no/if_primary_term', () => {
      indexDoc(store, idx, 'a', { name: 'x' }, 'index', {});
      should(indexDoc(store, idx, 'a', { name: 'y' }, 'index', { ifSeqNo: 0, ifPrimaryTerm: 1 }).status).eql(200);
      should(esError(() => indexDoc(store, idx, 'a', { name: 'z' }, 'index', { ifSeqNo: 0, ifPrimaryTerm: 1 })).status).eql(409);
    });

    it('partial updates merge objects, detect noops, upsert, and report missing documents', () => {
      indexDoc(store, idx, 'a', { name: 'x', nested: { a: 1, b: 2 }, list: [1, 2] }, 'index', {});
      const updated = updateDoc(store, idx, 'a', { doc: { nested: { b: 3 }, list: [9] } }, { sourceFilter: FULL_SOURCE });
      should(updated.body).containEql({ result: 'updated', _version: 2 });
      should(updated.body.get).containEql({ found: true, _source: { name: 'x', nested: { a: 1, b: 3 }, list: [9] } });
      const noop = updateDoc(store, idx, 'a', { doc: { name: 'x' } }, {});
      should(noop.body).containEql({ result: 'noop', _version: 2 });
      const missing = esError(() => updateDoc(store, idx, 'b', { doc: { name: 'y' } }, {}));
      should(missing.status).eql(404);
      should(missing.type).eql('document_missing_exception');
      const upserted = updateDoc(store, idx, 'b', { doc: { name: 'y' }, upsert: { name: 'init' } }, {});
      should(upserted.status).eql(201);
      should(idx.docs.get('b')?.source).eql({ name: 'init' });
      should(esError(() => updateDoc(store, idx, 'a', { script: 'ctx._source.x = 1' }, {})).reason).match(/es-standin does not support/);
    });

    it('auto-generates 20-character ids', () => {
      const created = indexDoc(store, idx, undefined, { name: 'auto' }, 'index', {});
      should(created.body._id).be.a.String().and.have.length(20);
    });
  });

  describe('query DSL', () => {
    let store: Store;
    let idx: EsIndex;

    before(() => {
      store = new Store();
      idx = store.createIndex('people', {
        mappings: {
          dynamic: 'false',
          properties: {
            name: { type: 'keyword' },
            bio: { type: 'text' },
            age: { type: 'integer' },
            born: { type: 'date' },
            tags: { type: 'keyword' },
            address: { properties: { city: { type: 'keyword' } } },
          },
        },
      });
      put(store, idx, 'alice', { name: 'Alice', bio: 'Loves Search engines', age: 30, born: '1991-05-01', tags: ['a', 'b'], address: { city: 'paris' } });
      put(store, idx, 'bob', { name: 'Bob', bio: 'Writes search queries', age: 40, born: Date.UTC(1981, 0, 1), tags: ['b'] });
      put(store, idx, 'carol', { name: 'Carol', bio: 'Plays chess', age: 50, unmapped: 'x' });
    });

    it('match_all, ids, term, terms', () => {
      should(ids(idx, { match_all: {} })).eql(['alice', 'bob', 'carol']);
      should(ids(idx, { ids: { values: ['bob', 'zed'] } })).eql(['bob']);
      should(ids(idx, { term: { name: 'Alice' } })).eql(['alice']);
      should(ids(idx, { term: { name: { value: 'alice', case_insensitive: true } } })).eql(['alice']);
      should(ids(idx, { term: { age: '40' } })).eql(['bob']);
      should(ids(idx, { terms: { tags: ['a', 'z'] } })).eql(['alice']);
      should(ids(idx, { term: { 'address.city': 'paris' } })).eql(['alice']);
    });

    it('text fields are analyzed: term sees lowercase tokens, match analyzes its input', () => {
      should(ids(idx, { term: { bio: 'Search' } })).eql([]);
      should(ids(idx, { term: { bio: 'search' } })).eql(['alice', 'bob']);
      should(ids(idx, { match: { bio: 'SEARCH chess' } })).eql(['alice', 'bob', 'carol']);
      should(ids(idx, { match: { bio: { query: 'search engines', operator: 'and' } } })).eql(['alice']);
      should(ids(idx, { match_phrase: { bio: 'search queries' } })).eql(['bob']);
    });

    it('range on numbers and dates (with now-based date math), exists, prefix', () => {
      should(ids(idx, { range: { age: { gt: 30, lte: 50 } } })).eql(['bob', 'carol']);
      should(ids(idx, { range: { born: { gte: '1990-01-01' } } })).eql(['alice']);
      should(ids(idx, { range: { born: { lt: 'now-10y' } } })).eql(['alice', 'bob']);
      should(ids(idx, { exists: { field: 'born' } })).eql(['alice', 'bob']);
      should(ids(idx, { exists: { field: 'address' } })).eql(['alice']);
      should(ids(idx, { prefix: { name: 'Ca' } })).eql(['carol']);
    });

    it('bool with must/filter/should/must_not and minimum_should_match', () => {
      should(ids(idx, {
        bool: { filter: { range: { age: { gte: 30 } } }, must_not: [{ term: { name: 'Bob' } }] },
      })).eql(['alice', 'carol']);
      should(ids(idx, { bool: { should: [{ term: { tags: 'a' } }, { term: { tags: 'b' } }], minimum_should_match: 2 } })).eql(['alice']);
      should(ids(idx, { bool: { should: [{ term: { name: 'Bob' } }], filter: [{ match_all: {} }] } })).eql(['alice', 'bob', 'carol']);
      should(ids(idx, { bool: { should: [{ term: { name: 'Bob' } }] } })).eql(['bob']);
    });

    it('unmapped fields (dynamic=false) match nothing, like unindexed fields in ES', () => {
      should(ids(idx, { term: { unmapped: 'x' } })).eql([]);
      should(ids(idx, { exists: { field: 'unmapped' } })).eql([]);
    });

    it('a field mapped after indexing only matches documents indexed afterwards', () => {
      const local = new Store();
      const people = local.createIndex('late', { mappings: { dynamic: 'false' } });
      put(local, people, 'old', { nick: 'x' });
      people.setMapping(mergeRootMapping(people.mapping, normalizeRootMapping({ properties: { nick: { type: 'keyword' } } })));
      put(local, people, 'new', { nick: 'x' });
      should(ids(people, { term: { nick: 'x' } })).eql(['new']);
    });

    it('answers 400 for unsupported clauses, parameters and bad values', () => {
      should(esError(() => ids(idx, { fuzzy: { name: 'alise' } })).reason).eql('es-standin does not support query [fuzzy]');
      should(esError(() => ids(idx, { match: { bio: { query: 'x', fuzziness: 'AUTO' } } })).reason).match(/es-standin does not support/);
      should(esError(() => ids(idx, { term: { name: 'a', age: 1 } })).type).eql('parsing_exception');
      should(esError(() => ids(idx, { term: { age: 'abc' } })).type).eql('query_shard_exception');
      should(esError(() => ids(idx, { term: { name: { value: 'a', _name: 'q' } } })).reason).match(/named queries/);
    });
  });

  describe('search, sort and source filtering', () => {
    let store: Store;
    let idx: EsIndex;
    const scrolls = new ScrollRegistry();

    before(() => {
      store = new Store();
      idx = store.createIndex('s', { mappings: { properties: { n: { type: 'long' }, k: { type: 'keyword' }, t: { type: 'text' } } } });
      for (let i = 0; i < 7; i++) {
        put(store, idx, `d${i}`, { n: (i * 3) % 7, k: `key${i % 3}`, t: 'some text', obj: { a: i, b: 'x' } });
      }
      put(store, idx, 'nokey', { n: 100 });
    });

    const hitIds = (body: JsonObject): string[] => {
      const hits = body.hits as JsonObject;
      return (hits.hits as JsonObject[]).map(h => String(h._id));
    };

    it('sorts, paginates and reports totals', () => {
      const body = search([idx], { sort: [{ n: 'desc' }], from: 1, size: 3 }, { restTotalHitsAsInt: false }, scrolls);
      should(hitIds(body)).eql(['d2', 'd4', 'd6']);
      should((body.hits as JsonObject).total).eql({ value: 8, relation: 'eq' });
      should((body.hits as JsonObject).max_score).be.null();
      const keyed = search([idx], { sort: ['k', { n: { order: 'asc' } }], size: 10 }, { restTotalHitsAsInt: true }, scrolls);
      should(hitIds(keyed)).eql(['d0', 'd3', 'd6', 'd1', 'd4', 'd5', 'd2', 'nokey']);
      should((keyed.hits as JsonObject).total).eql(8);
    });

    it('pages with search_after on the sort values', () => {
      const sort: Json = [{ k: 'asc' }, { n: 'asc' }];
      const first = search([idx], { sort, size: 3 }, { restTotalHitsAsInt: false }, scrolls);
      should(hitIds(first)).eql(['d0', 'd3', 'd6']);
      const next = search([idx], { sort, size: 3, search_after: ['key0', 4] }, { restTotalHitsAsInt: false }, scrolls);
      should(hitIds(next)).eql(['d1', 'd4', 'd5']);
      should((next.hits as JsonObject).total).eql({ value: 8, relation: 'eq' });
      should(esError(() => search([idx], { sort, search_after: ['key0'] }, { restTotalHitsAsInt: false }, scrolls)).reason)
        .eql('search_after has 1 value(s) but sort has 2.');
    });

    it('refuses to sort on text fields and on unmapped fields without unmapped_type', () => {
      should(esError(() => search([idx], { sort: ['t'] }, { restTotalHitsAsInt: false }, scrolls)).reason).match(/fielddata=true/);
      should(esError(() => search([idx], { sort: ['zz'] }, { restTotalHitsAsInt: false }, scrolls)).reason)
        .eql('No mapping found for [zz] in order to sort on');
      should(hitIds(search([idx], { sort: [{ zz: { unmapped_type: 'long' } }], size: 1 }, { restTotalHitsAsInt: false }, scrolls)))
        .have.length(1);
    });

    it('rejects unsupported body keys and windows past max_result_window', () => {
      should(esError(() => search([idx], { aggs: {} }, { restTotalHitsAsInt: false }, scrolls)).reason)
        .eql('es-standin does not support search body key [aggs]');
      should(esError(() => search([idx], { from: 9995, size: 10 }, { restTotalHitsAsInt: false }, scrolls)).reason)
        .match(/^Result window is too large/);
    });

    it('filters _source with includes/excludes and wildcards', () => {
      const source: JsonObject = { a: 1, obj: { x: 1, y: 2 }, list: [{ x: 1, z: 3 }], other: 'o' };
      should(applySourceFilter(source, { enabled: true, includes: ['obj.x', 'list.*'], excludes: ['list.z'] }))
        .eql({ obj: { x: 1 }, list: [{ x: 1 }] });
      should(applySourceFilter(source, { enabled: true, includes: [], excludes: ['o*'] })).eql({ a: 1, list: [{ x: 1, z: 3 }] });
      should(applySourceFilter(source, { enabled: false, includes: [], excludes: [] })).be.undefined();
    });
  });

  describe('bulk', () => {
    it('parses NDJSON and reports per-item results', () => {
      const store = new Store();
      store.createIndex('b', undefined);
      const lines = [
        { index: { _index: 'b', _id: '1' } }, { v: 1 },
        { create: { _index: 'b', _id: '1' } }, { v: 2 },
        { update: { _index: 'b', _id: '1' } }, { doc: { v: 3 }, _source: true },
        { update: { _index: 'b', _id: 'missing' } }, { doc: { v: 3 } },
        { delete: { _index: 'b', _id: 'missing' } },
        { delete: { _index: 'b', _id: '1' } },
      ];
      const text = `${lines.map(l => JSON.stringify(l)).join('\n')}\n`;
      const result = executeBulk(store, parseBulk(text, undefined), false);
      should(result.errors).be.true();
      const statuses = (result.items as JsonObject[]).map(item => {
        const [action, body] = Object.entries(item)[0];
        return `${action}:${String((body as JsonObject).status)}`;
      });
      should(statuses).eql(['index:201', 'create:409', 'update:200', 'update:404', 'delete:404', 'delete:200']);
      const update = (result.items as JsonObject[])[2].update as JsonObject;
      should((update.get as JsonObject)._source).eql({ v: 3 });
    });

    it('rejects malformed requests as a whole', () => {
      should(esError(() => parseBulk('{"index":{"_index":"b"}}\n{}', undefined)).reason).match(/terminated by a newline/);
      should(esError(() => parseBulk('{"upsert":{"_index":"b"}}\n{}\n', undefined)).reason)
        .match(/expected one of \[create, delete, index, update\] but found \[upsert\]/);
      should(esError(() => parseBulk('{"delete":{"_index":"b"}}\n', undefined)).reason).match(/id is missing/);
      should(esError(() => parseBulk('{"index":{"_index":"b","routing":"r"}}\n{}\n', undefined)).reason).match(/es-standin does not support/);
    });
  });

  describe('HTTP server', () => {
    let es: EsStandin;

    before(async () => {
      es = await startEsStandin({ port: 0 });
    });

    after(async () => {
      await es.close();
    });

    async function call (method: string, path: string, body?: unknown, contentType = 'application/json') {
      const res = await fetch(`${es.url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': contentType },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      const json: unknown = text === '' ? null : JSON.parse(text);
      return { status: res.status, headers: res.headers, body: json as JsonObject };
    }

    it('answers the product check with a 7.17 version and the x-elastic-product header', async () => {
      const res = await call('GET', '/');
      should(res.status).eql(200);
      should(res.headers.get('x-elastic-product')).eql('Elasticsearch');
      should((res.body.version as JsonObject).number).eql('7.17.0');
      const missing = await call('GET', '/nope/_doc/1');
      should(missing.headers.get('x-elastic-product')).eql('Elasticsearch');
    });

    it('answers ES-style errors: 404 index, 400 unknown endpoint/parameter, 405 wrong method', async () => {
      const notFound = await call('GET', '/nope/_search');
      should(notFound.status).eql(404);
      should(notFound.body.error).containEql({ type: 'index_not_found_exception', reason: 'no such index [nope]' });
      const endpoint = await call('GET', '/_nodes/stats');
      should(endpoint.status).eql(400);
      should((endpoint.body.error as JsonObject).reason).eql('es-standin does not support endpoint [GET /_nodes/stats]');
      should((endpoint.body.error as JsonObject).root_cause).be.an.Array().and.have.length(1);
      const param = await call('GET', '/_search?q=foo');
      should((param.body.error as JsonObject).reason).match(/es-standin does not support parameter \[q\]/);
      const method = await call('DELETE', '/');
      should(method.status).eql(405);
    });

    it('serves documents, HEAD existence, mget and index management', async () => {
      should((await call('PUT', '/%26i.c', { mappings: { dynamic: 'false', properties: { n: { type: 'long' } } } })).status).eql(200);
      should((await call('PUT', '/%26i.c', {})).body.error).containEql({ type: 'resource_already_exists_exception' });
      should((await call('HEAD', '/%26i.c')).status).eql(200);
      should((await call('HEAD', '/%26i.x')).status).eql(404);
      should((await call('PUT', '/%26i.c/_doc/1?refresh=wait_for', { n: 1 })).status).eql(201);
      should((await call('PUT', '/%26i.c/_create/1', { n: 1 })).status).eql(409);
      should((await call('HEAD', '/%26i.c/_doc/1')).status).eql(200);
      const mget = await call('POST', '/_mget', { docs: [{ _index: '&i.c', _id: '1' }, { _index: '&i.c', _id: '2' }, { _index: 'nope', _id: '1' }] });
      const docs = mget.body.docs as JsonObject[];
      should(docs[0]).containEql({ found: true, _source: { n: 1 } });
      should(docs[1]).containEql({ found: false });
      should((docs[2].error as JsonObject).type).eql('index_not_found_exception');
      const cat = await call('GET', '/_cat/indices?format=json');
      should(cat.body).containDeep([{ index: '&i.c', 'docs.count': '1', status: 'open' }]);
      should((await call('GET', '/_cat/indices')).status).eql(400);
      const mapping = await call('GET', '/%26i.c/_mapping');
      should(mapping.body).eql({ '&i.c': { mappings: { dynamic: 'false', properties: { n: { type: 'long' } } } } });
    });

    it('applies static settings only on closed indices', async () => {
      await call('PUT', '/settings-test', {});
      const analysis = { analysis: { analyzer: { my: { type: 'standard' } } } };
      const open = await call('PUT', '/settings-test/_settings', analysis);
      should(open.status).eql(400);
      should((open.body.error as JsonObject).reason).match(/^Can't update non dynamic settings/);
      should((await call('POST', '/settings-test/_close')).status).eql(200);
      should((await call('POST', '/settings-test/_search', {})).status).eql(400);
      should((await call('PUT', '/settings-test/_settings', analysis)).status).eql(200);
      should((await call('POST', '/settings-test/_open')).status).eql(200);
      const settings = await call('GET', '/settings-test/_settings');
      const index = ((settings.body['settings-test'] as JsonObject).settings as JsonObject).index as JsonObject;
      should(index.analysis).eql({ analyzer: { my: { type: 'standard' } } });
      should(index.number_of_shards).eql('1');
      should((await call('PUT', '/settings-test/_settings', { unknown_thing: 1 })).status).eql(400);
    });

    it('scrolls, then frees the context (404 on a second clear)', async () => {
      const bulk = Array.from({ length: 5 }, (_, i) => `{"index":{"_index":"scroll","_id":"${i}"}}\n{"i":${i}}\n`).join('');
      should((await call('POST', '/_bulk', bulk, 'application/x-ndjson')).body.errors).be.false();
      const first = await call('POST', '/scroll/_search?scroll=1m&size=2', { sort: ['_doc'] });
      const scrollId = String(first.body._scroll_id);
      const seen = (first.body.hits as JsonObject).hits as JsonObject[];
      for (;;) {
        const next = await call('POST', '/_search/scroll', { scroll: '1m', scroll_id: scrollId });
        const hits = (next.body.hits as JsonObject).hits as JsonObject[];
        if (hits.length === 0) {
          break;
        }
        seen.push(...hits);
      }
      should(seen.map(h => h._id)).eql(['0', '1', '2', '3', '4']);
      should(await call('DELETE', '/_search/scroll', { scroll_id: [scrollId] })).containDeep({ status: 200, body: { num_freed: 1 } });
      should((await call('DELETE', '/_search/scroll', { scroll_id: [scrollId] })).status).eql(404);
      should((await call('POST', '/_search/scroll', { scroll_id: scrollId })).body.error).containEql({ type: 'search_context_missing_exception' });
    });

    it('update_by_query (as a task) reindexes documents so that newly dynamic fields get indexed', async () => {
      await call('PUT', '/ubq', { mappings: { dynamic: 'false' } });
      await call('PUT', '/ubq/_doc/1', { color: 'red' });
      const before = await call('POST', '/ubq/_count', { query: { match: { color: 'red' } } });
      should(before.body.count).eql(0);
      await call('PUT', '/ubq/_mapping', { dynamic: 'true' });
      const started = await call('POST', '/ubq/_update_by_query?conflicts=proceed&refresh=true&wait_for_completion=false', {});
      const task = await call('GET', `/_tasks/${encodeURIComponent(String(started.body.task))}`);
      should(task.body).containDeep({ completed: true, response: { updated: 1 } });
      const after = await call('POST', '/ubq/_count', { query: { match: { color: 'red' } } });
      should(after.body.count).eql(1);
      should((await call('GET', '/ubq/_doc/1')).body._version).eql(2);
    });

    it('resolves aliases for reads and single-index writes', async () => {
      await call('PUT', '/aliased-1', { aliases: { both: {} } });
      await call('PUT', '/aliased-2', {});
      should((await call('POST', '/_aliases', { actions: [{ add: { index: 'aliased-2', alias: 'both' } }, { add: { index: 'aliased-2', alias: 'two' } }] })).status).eql(200);
      should((await call('PUT', '/two/_doc/x', { a: 1 })).body._index).eql('aliased-2');
      should((await call('PUT', '/both/_doc/y', { a: 1 })).body.error).containEql({ type: 'illegal_argument_exception' });
      await call('PUT', '/aliased-1/_doc/z', { a: 2 });
      const found = await call('POST', '/both/_search', { sort: ['_id'] });
      should(((found.body.hits as JsonObject).hits as JsonObject[]).map(h => h._id)).eql(['x', 'z']);
      const cat = await call('GET', '/_cat/aliases?format=json');
      should(cat.body).containDeep([{ alias: 'both', index: 'aliased-1' }, { alias: 'both', index: 'aliased-2' }, { alias: 'two', index: 'aliased-2' }]);
      should((await call('DELETE', '/aliased-2/_alias/nope')).status).eql(404);
    });

    it('works with the official @elastic/elasticsearch 7.x client (product check included)', async () => {
      const client = new Client({ node: es.url });
      try {
        const info = await client.info();
        should(info.body.version.number).eql('7.17.0');
        await client.index({ index: 'client', id: 'x', body: { a: 1 }, refresh: 'wait_for' });
        const { body } = await client.search({ index: 'client', body: { query: { term: { a: 1 } } }, track_total_hits: true });
        should(body.hits.total.value).eql(1);
        const count = await client.count({ index: 'client' });
        should(count.body.count).eql(1);
        const exists = await client.exists({ index: 'client', id: 'nope' });
        should(exists.body).be.false();
      }
      finally {
        await client.close();
      }
    });
  });
});
