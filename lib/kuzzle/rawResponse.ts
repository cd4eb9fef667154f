import type { ApiRequest } from './types';

/**
 * Over HTTP, makes Kuzzle 2.10 send `text` as the response body with its own
 * Content-Type (the funnel keeps a raw response as is, http.js writes the
 * response's headers): what curl and Prometheus want. The SDKs need Kuzzle's
 * JSON envelope, whatever the protocol (their Http protocol included: they
 * say who they are in `volatile.sdkName`), and so do WebSocket and MQTT
 * clients: for them, and over HTTP with `?format=json`, `text` stays the
 * action's result.
 */
export function respondRaw (request: ApiRequest, text: string, contentType: string): string {
  const { args, volatile } = request.input;
  const fromSdk = volatile !== null && typeof volatile.sdkName === 'string';
  if (request.context.connection.protocol === 'http' && args.format !== 'json' && !fromSdk) {
    request.response.raw = true;
    request.response.setHeader('Content-Type', contentType);
  }
  return text;
}
