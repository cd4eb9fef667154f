/**
 * What Kuzzle 2.33 asks Elasticsearch on top of what 2.10 does (its
 * lib/service/storage/7/elasticsearch.js): `_cat/nodes` (to choose
 * wait_for_active_shards, before every write), `_cat/aliases/{name}` (the
 * index behind a collection's alias), `GET /{index}/_alias`,
 * `HEAD /_alias/{name}`, `POST /_aliases` (aliases for indices created
 * before 2.14) and `DELETE /{index}/_alias/{name}`. Each is called here the
 * way 2.33 calls it, through the official 7.x client, and its strict edges
 * (what the stand-in does not implement) answer 400.
 */
import { Client } from '@elastic/elasticsearch';
import should from 'should';

import { EsStandin, startEsStandin } from '../support/es-standin';
import { JsonObject } from '../support/es-standin/json';

describe('es-standin: the routes Kuzzle 2.33 adds', () => {
  let es: EsStandin;
  let client: Client;

  before(async () => {
    es = await startEsStandin({ host: '127.0.0.1', port: 0 });
    client = new Client({ node: es.url });
  });

  after(async () => {
    await client.close();
    await es.close();
  });

  beforeEach(() => {
    es.store.indices.clear();
  });

  async function call (method: string, path: string, body?: unknown): Promise<{ status: number; body: JsonObject | JsonObject[] | null }> {
    const res = await fetch(`${es.url}${path}`, {
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      method,
    });
    const text = await res.text();
    return { body: text === '' ? null : JSON.parse(text) as JsonObject, status: res.status };
  }

  function reason (body: JsonObject | JsonObject[] | null): string {
    const error = body && !Array.isArray(body) ? body.error : undefined;
    return error && typeof error === 'object' && !Array.isArray(error) ? String(error.reason) : '';
  }

  describe('GET /_cat/nodes', () => {
    it('lists one node, the master, with the default columns of ES 7.17 (as cat.nodes({ format: "json" }))', async () => {
      const { body } = await client.cat.nodes({ format: 'json' });
      should(body).be.an.Array().and.have.length(1);
      should(Object.keys(body[0]).sort()).eql([
        'cpu', 'heap.percent', 'ip', 'load_15m', 'load_1m', 'load_5m', 'master', 'name', 'node.role', 'ram.percent',
      ]);
      should(body[0]).containEql({ ip: '127.0.0.1', master: '*', name: 'es-standin', 'node.role': 'cdfhilmrstw' });
      for (const column of ['cpu', 'heap.percent', 'ram.percent', 'load_1m']) {
        should(Number.isFinite(Number(body[0][column]))).be.true(`${column}: ${body[0][column]}`);
      }
    });

    it('answers 400 for what it does not implement: text output, column selection, sorting, bad booleans', async () => {
      for (const path of ['/_cat/nodes', '/_cat/nodes?v', '/_cat/nodes?format=yaml', '/_cat/nodes?format=json&h=ip,name',
        '/_cat/nodes?format=json&s=name', '/_cat/nodes?format=json&full_id=maybe']) {
        const res = await call('GET', path);
        should(res.status).eql(400, path);
      }
      should(reason((await call('GET', '/_cat/nodes')).body)).startWith('es-standin does not support');
      should(reason((await call('GET', '/_cat/nodes?format=json&h=ip')).body)).eql('es-standin does not support parameter [h] on [GET /_cat/nodes]');
      should((await call('GET', '/_cat/nodes?format=json&full_id=true')).status).eql(200);
      should((await call('GET', '/_cat/nodes/x?format=json')).status).eql(400);
      should((await call('POST', '/_cat/nodes?format=json')).status).eql(405);
    });
  });

  describe('aliases', () => {
    beforeEach(async () => {
      // Kuzzle 2.33's layout: an indice per collection, an `@`-prefixed alias to it
      await client.indices.create({ index: '&nyc.cabs', body: { aliases: { '@&nyc.cabs': {} } } });
      await client.indices.create({ index: '&nyc.bikes', body: { aliases: { '@&nyc.bikes': {} } } });
      await client.indices.create({ index: '&old.collection', body: {} });
    });

    it('cat.aliases({ format, name }) finds the indice behind one alias, and nothing for an unknown one', async () => {
      const { body } = await client.cat.aliases({ format: 'json', name: '@&nyc.cabs' });
      should(body).eql([{
        alias: '@&nyc.cabs', filter: '-', index: '&nyc.cabs', is_write_index: '-', 'routing.index': '-', 'routing.search': '-',
      }]);
      should((await client.cat.aliases({ format: 'json', name: '@&nyc.nope' })).body).eql([]);
      const two = await client.cat.aliases({ format: 'json', name: '@&nyc.cabs,@&nyc.bikes' });
      should(two.body.map((row: JsonObject) => row.index)).eql(['&nyc.bikes', '&nyc.cabs']);
    });

    it('indices.getAlias({ index }) lists an indice\'s aliases, none included', async () => {
      should((await client.indices.getAlias({ index: '&nyc.cabs' })).body).eql({ '&nyc.cabs': { aliases: { '@&nyc.cabs': {} } } });
      should((await client.indices.getAlias({ index: '&old.collection' })).body).eql({ '&old.collection': { aliases: {} } });
      const missing = await call('GET', '/%26nope/_alias');
      should(missing.status).eql(404);
      should(missing.body).containDeep({ error: { type: 'index_not_found_exception' } });
    });

    it('indices.existsAlias({ name }) is HEAD /_alias/{name}: true or false', async () => {
      should((await client.indices.existsAlias({ name: '@&nyc.cabs' })).body).be.true();
      should((await client.indices.existsAlias({ name: '@&nyc.nope' })).body).be.false();
    });

    it('indices.updateAliases adds the aliases of indices created before Kuzzle 2.14, and removes', async () => {
      await client.indices.updateAliases({ body: { actions: [{ add: { alias: '@&old.collection', index: '&old.collection' } }] } });
      should((await client.indices.existsAlias({ name: '@&old.collection' })).body).be.true();
      const rows = (await client.cat.aliases({ format: 'json' })).body.map((row: JsonObject) => `${row.alias} -> ${row.index}`);
      should(rows).eql(['@&nyc.bikes -> &nyc.bikes', '@&nyc.cabs -> &nyc.cabs', '@&old.collection -> &old.collection']);
      await client.indices.updateAliases({ body: { actions: [{ remove: { alias: '@&old.collection', index: '&old.collection' } }] } });
      should((await client.indices.existsAlias({ name: '@&old.collection' })).body).be.false();
    });

    it('indices.deleteAlias({ index, name }) removes it; a missing one is a 404', async () => {
      await client.indices.deleteAlias({ index: '&nyc.bikes', name: '@&nyc.bikes' });
      should((await client.indices.existsAlias({ name: '@&nyc.bikes' })).body).be.false();
      const again = await call('DELETE', '/%26nyc.bikes/_alias/%40%26nyc.bikes');
      should(again.status).eql(404);
      should(again.body).containDeep({ error: { type: 'aliases_not_found_exception' } });
    });

    it('answers 400 for alias name expressions it does not implement (wildcards, _all, exclusions), and unknown actions', async () => {
      for (const [method, path] of [
        ['GET', '/_cat/aliases/%40*?format=json'],
        ['GET', '/_cat/aliases/_all?format=json'],
        ['GET', '/_alias/%40%26nyc.*'],
        ['HEAD', '/_alias/%40%26nyc.*'],
        ['GET', '/%26nyc.cabs/_alias/-x'],
        ['DELETE', '/%26nyc.cabs/_alias/*'],
        ['DELETE', '/%26nyc.cabs/_alias/_all'],
      ]) {
        const res = await call(method, path);
        should(res.status).eql(400, `${method} ${path}`);
        if (method !== 'HEAD') {
          should(reason(res.body)).startWith('es-standin does not support alias name expression', `${method} ${path}`);
        }
      }
      // nothing was removed by the refused deletes
      should((await client.indices.existsAlias({ name: '@&nyc.cabs' })).body).be.true();
      const action = await call('POST', '/_aliases', { actions: [{ remove_index: { index: '&nyc.cabs' } }] });
      should(action.status).eql(400);
      should(reason(action.body)).eql('es-standin does not support alias action [remove_index]');
      const option = await call('POST', '/_aliases', { actions: [{ add: { alias: 'f', filter: { term: { a: 1 } }, index: '&nyc.cabs' } }] });
      should(option.status).eql(400);
      should(reason(option.body)).eql('es-standin does not support alias option [filter]');
    });
  });
});
