import should from 'should';

import { respondRaw } from '../../../lib/kuzzle/rawResponse';
import type { ApiRequest } from '../../../lib/kuzzle/types';

function request (
  protocol: string | null, args: Record<string, unknown> = {}, volatile: Record<string, unknown> | null = null,
): ApiRequest & { headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  return {
    context: { connection: { protocol } },
    headers,
    input: { args, volatile },
    response: {
      raw: false,
      setHeader: (name: string, value: string) => {
        headers[name] = value;
      },
    },
  };
}

describe('respondRaw', () => {
  it('over HTTP, makes Kuzzle send the text as is with its Content-Type', () => {
    const http = request('http', {}, { other: 'volatile data' });
    should(respondRaw(http, 'a 1\n', 'text/plain; version=0.0.4')).equal('a 1\n');
    should(http.response.raw).be.true();
    should(http.headers).eql({ 'Content-Type': 'text/plain; version=0.0.4' });
  });

  it('keeps Kuzzle\'s JSON response over other protocols, over HTTP with format=json, and for the SDKs over HTTP', () => {
    const cases = [
      request('websocket'), request('mqtt'), request(null), request('http', { format: 'json' }),
      request('http', {}, { sdkInstanceId: 'x', sdkName: 'js@7.11.0' }),
    ];
    for (const req of cases) {
      should(respondRaw(req, 'a 1\n', 'text/plain')).equal('a 1\n');
      should(req.response.raw).be.false();
      should(req.headers).eql({});
    }
  });
});
