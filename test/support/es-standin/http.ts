import http from 'http';
import { AddressInfo } from 'net';
import zlib from 'zlib';

import { EsError, jsonParse, toEsError } from './errors';
import { Json, parseJson } from './json';
import { Ctx, Params, Reply, Route, findRoute } from './router';
import { DOC_ROUTES } from './routes-docs';
import { INDEX_ROUTES } from './routes-indices';
import { ScrollRegistry } from './search';
import { Store } from './store';

const ROUTES: Route[] = [...DOC_ROUTES, ...INDEX_ROUTES];
const MAX_BODY_BYTES = 100 * 1024 * 1024;

export interface RequestLogEntry {
  method: string;
  url: string;
  status: number;
  /** ES error type, when the answer is an error. */
  error?: string;
  reason?: string;
  /** Request body, truncated to 2000 characters. */
  body?: string;
}

export interface ServerOptions {
  onRequest?: (entry: RequestLogEntry) => void;
}

function readBody (req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new EsError(413, 'content_too_long', `request body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function decodeBody (raw: Buffer, encoding: string | undefined): string {
  switch ((encoding ?? '').toLowerCase()) {
    case '':
    case 'identity':
      return raw.toString('utf8');
    case 'gzip':
      return zlib.gunzipSync(raw).toString('utf8');
    case 'deflate':
      return zlib.inflateSync(raw).toString('utf8');
    default:
      throw new EsError(400, 'illegal_argument_exception', `es-standin does not support content-encoding [${encoding}]`);
  }
}

function parseBody (route: Route, text: string, path: string): Json | undefined {
  if (text.trim() === '') {
    return undefined;
  }
  if (route.body === 'none') {
    throw new EsError(400, 'illegal_argument_exception', `request [${path}] does not support having a body`);
  }
  if (route.body === 'ndjson') {
    return undefined;
  }
  try {
    return parseJson(text);
  }
  catch (error) {
    throw jsonParse(`Failed to parse request body: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function handle (store: Store, scrolls: ScrollRegistry, req: http.IncomingMessage, seen: { body?: string }): Promise<Reply> {
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', 'http://es-standin');
  const { route, vars } = findRoute(ROUTES, method, url.pathname);
  const params = new Params(url.searchParams);
  params.check(route.params, `${route.methods.join('|')} ${route.pattern}`);
  const raw = await readBody(req);
  const rawBody = decodeBody(raw, req.headers['content-encoding']);
  seen.body = rawBody === '' ? undefined : rawBody.slice(0, 2000);
  const ctx: Ctx = {
    method,
    path: url.pathname,
    vars,
    params,
    body: parseBody(route, rawBody, url.pathname),
    rawBody,
    store,
    scrolls,
  };
  return route.handler(ctx);
}

export function createEsServer (store: Store, options: ServerOptions = {}): http.Server {
  const scrolls = new ScrollRegistry();
  return http.createServer((req, res) => {
    const seen: { body?: string } = {};
    const respond = (reply: Reply, error?: EsError): void => {
      const pretty = new URL(req.url ?? '/', 'http://es-standin').searchParams.has('pretty');
      const text = reply.body === null && req.method === 'HEAD' ? '' : JSON.stringify(reply.body, null, pretty ? 2 : undefined);
      res.writeHead(reply.status, {
        'content-type': 'application/json; charset=UTF-8',
        'content-length': Buffer.byteLength(text),
        'x-elastic-product': 'Elasticsearch',
      });
      res.end(req.method === 'HEAD' ? undefined : text);
      options.onRequest?.({
        method: req.method ?? '',
        url: req.url ?? '',
        status: reply.status,
        error: error?.type,
        reason: error?.reason,
        body: seen.body,
      });
    };
    handle(store, scrolls, req, seen).then(
      reply => respond(reply),
      (thrown: unknown) => {
        const error = toEsError(thrown);
        // Drain whatever is left of the body so keep-alive sockets stay usable.
        req.resume();
        respond({ status: error.status, body: error.toBody() }, error);
      });
  });
}

export interface EsStandin {
  url: string;
  port: number;
  store: Store;
  close: () => Promise<void>;
}

export interface StartOptions extends ServerOptions {
  port?: number;
  host?: string;
}

/** Starts the stand-in; port 0 picks a free port. Binds 127.0.0.1 unless told otherwise. */
export function startEsStandin (options: StartOptions = {}): Promise<EsStandin> {
  const host = options.host ?? '127.0.0.1';
  const store = new Store();
  const server = createEsServer(store, options);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://${host}:${port}`,
        port,
        store,
        close: () => new Promise<void>(done => {
          server.close(() => done());
          server.closeAllConnections();
        }),
      });
    });
  });
}
