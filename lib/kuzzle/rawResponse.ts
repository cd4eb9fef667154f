import type { ApiRequest } from './types';

/**
 * Over HTTP, makes Kuzzle 2.10 send `text` as the response body with its own
 * Content-Type (the funnel keeps a raw response as is, http.js writes the
 * response's headers). Other protocols (WebSocket, MQTT, the SDKs) need
 * Kuzzle's JSON envelope, so there `text` stays the action's result; so does
 * it over HTTP with `?format=json`.
 */
export function respondRaw (request: ApiRequest, text: string, contentType: string): string {
  if (request.context.connection.protocol === 'http' && request.input.args.format !== 'json') {
    request.response.raw = true;
    request.response.setHeader('Content-Type', contentType);
  }
  return text;
}
