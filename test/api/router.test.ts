/**
 * The router and the payload-v2 conversion on their own: matching, 405 and 404, 413 decided on the raw
 * body before any parsing, 400s naming the field, base64 bodies in and binary results out.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { startLocalApi } from '../../shared/api/localHttp';
import { lambdaHandler, ok, parseJsonBody, requestOfEvent, resultOfResponse, route, Router, type ApiRequest } from '../../shared/api/router';

const seen: unknown[] = [];
const routes = [
  route({
    method: 'POST',
    path: '/things',
    maxBodyBytes: () => 64,
    async handle(req) {
      const body = parseJsonBody(req, z.object({ item: z.object({ count: z.number().int() }) }).strict());
      seen.push(body);
      return ok({ count: body.item.count });
    },
  }),
  route({
    method: 'GET',
    path: '/things/{id}/parts/{part}',
    params: z.object({ id: z.string().regex(/^\d+$/), part: z.string() }),
    async handle(req) {
      return ok(req.params);
    },
  }),
  route({
    method: 'GET',
    path: '/blob',
    async handle() {
      return { status: 200, bytes: Uint8Array.from([0, 255, 1]) };
    },
  }),
];
const router = new Router(routes);

const request = (method: string, path: string, body?: string): ApiRequest => ({ method, path, params: {}, query: {}, headers: {}, body: body === undefined ? undefined : Buffer.from(body) });

function event(method: string, path: string, body?: string, base64 = false): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'Content-Type': 'application/json' },
    requestContext: { http: { method, path } } as APIGatewayProxyEventV2['requestContext'],
    body: body === undefined ? undefined : base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: base64,
  };
}

describe('router', () => {
  it('matches patterns, decodes path parameters and allows a trailing slash', async () => {
    expect(await router.handle(request('GET', '/things/12/parts/a%20b/'))).toEqual({ status: 200, json: { id: '12', part: 'a b' } });
  });

  it('answers 404 for unknown paths, 405 for known paths with another method, 400 for bad parameters', async () => {
    expect((await router.handle(request('GET', '/nothing'))).json).toMatchObject({ error: { code: 'NotFound' } });
    const wrongMethod = await router.handle(request('DELETE', '/things'));
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.json).toMatchObject({ error: { message: expect.stringContaining('use POST') } });
    expect(await router.handle(request('GET', '/things/x/parts/a'))).toMatchObject({ status: 400, json: { error: { code: 'InvalidRequest', field: 'path.id' } } });
    expect(await router.handle(request('GET', '/blob', '{}'))).toMatchObject({ status: 400, json: { error: { message: expect.stringContaining('takes no body') } } });
  });

  it('refuses an oversized body with 413 before parsing it, and names the failing field of a parsed one', async () => {
    seen.length = 0;
    expect(await router.handle(request('POST', '/things', '{'.repeat(65)))).toMatchObject({ status: 413, json: { error: { code: 'PayloadTooLarge' } } });
    expect(await router.handle(request('POST', '/things', '{"item": {"count": 1.5}}'))).toMatchObject({ status: 400, json: { error: { field: 'item.count' } } });
    expect(await router.handle(request('POST', '/things', '{"item": {"count": 1}, "x": 1}'))).toMatchObject({ status: 400, json: { error: { message: expect.stringContaining("'x'") } } });
    expect(await router.handle(request('POST', '/things', '\u00ff'))).toMatchObject({ status: 400, json: { error: { message: expect.stringContaining('not JSON') } } });
    expect(await router.handle(request('POST', '/things'))).toMatchObject({ status: 400, json: { error: { message: 'a JSON body is required' } } });
    expect(seen).toEqual([]);
  });

  it('decodes base64 event bodies and returns binary results base64-encoded, JSON as text', async () => {
    const handler = lambdaHandler(routes);
    const posted = (await handler(event('POST', '/things', '{"item":{"count":3}}', true))) as APIGatewayProxyStructuredResultV2;
    expect(posted).toEqual({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"count":3}' });
    const blob = (await handler(event('GET', '/blob'))) as APIGatewayProxyStructuredResultV2;
    expect(blob).toMatchObject({ statusCode: 200, isBase64Encoded: true, headers: { 'content-type': 'application/octet-stream' } });
    expect([...Buffer.from(blob.body!, 'base64')]).toEqual([0, 255, 1]);
    expect(requestOfEvent(event('post', '/things', 'abc')).method).toBe('POST');
    expect(resultOfResponse({ status: 200, bytes: new TextEncoder().encode('<p>'), headers: { 'content-type': 'text/html' } })).toMatchObject({ body: '<p>', isBase64Encoded: false });
  });
});

describe('local HTTP server', () => {
  it('serves a Router over node:http with the same results as its Lambda handler', async () => {
    const local = await startLocalApi(router);
    try {
      const posted = await fetch(`${local.url}/things`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"item":{"count":4}}' });
      expect([posted.status, await posted.json()]).toEqual([200, { count: 4 }]);
      const blob = await fetch(`${local.url}/blob`);
      expect([blob.headers.get('content-type'), [...new Uint8Array(await blob.arrayBuffer())]]).toEqual(['application/octet-stream', [0, 255, 1]]);
      const missing = await fetch(`${local.url}/things/1`);
      expect([missing.status, (await missing.json()).error.code]).toEqual([404, 'NotFound']);
    } finally {
      await local.stop();
    }
  });
});
