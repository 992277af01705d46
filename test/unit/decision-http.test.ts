// The decision API's HTTP face (lib/wiring/http.ts) without a server: a fault anywhere answers the
// documented 503 problem with retry-after, never a 500, and nothing of the request is logged.
import { describe, expect, it, vi } from 'vitest';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { decisionsHttp } from '../../lib/wiring/http.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import type { CustomerRepository } from '../../lib/app/ports.ts';
import type { CustomerState } from '../../lib/core/customer/index.ts';

const request = (body: string, method = 'POST', path = '/v1/decisions'): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { 'Content-Type': 'application/json' },
    requestContext: { http: { method, path }, requestId: 'r', stage: '$default', timeEpoch: 0 },
    body,
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEventV2;

const failing = (): CustomerRepository<CustomerState> => {
  const fault = async (): Promise<never> => {
    throw Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ProvisionedThroughputExceededException' });
  };
  return { resolve: fault, load: fault, commit: fault, markSeen: fault, erase: fault };
};

describe('decision API over HTTP', () => {
  it('answers a fault with 503 unavailable and retry-after, and logs nothing of the request', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const http = decisionsHttp({ customers: failing(), rules: { current: async () => new RuleSet([]) }, metrics: new MemoryMetrics() });
    const body = JSON.stringify({ customer: { kind: 'email', value: 'maria.keller@example.com' }, channel: 'web' });

    const res = await http(request(body), {} as Context);

    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body!)).toEqual({ code: 'unavailable', reason: 'could not answer now (ProvisionedThroughputExceededException); retry with the same requestId' });
    expect(res.headers).toMatchObject({ 'retry-after': '1', 'cache-control': 'no-store' });
    expect(logged).not.toHaveBeenCalled();
    logged.mockRestore();
  });

  it('reads a base64 body and names the field, never the value, of a bad request', async () => {
    const http = decisionsHttp({ customers: failing(), rules: { current: async () => new RuleSet([]) }, metrics: new MemoryMetrics() });
    const body = Buffer.from(JSON.stringify({ customer: { kind: 'passport', value: 'P-SECRET-77' }, channel: 'web' })).toString('base64');

    const res = await http({ ...request(body), isBase64Encoded: true }, {} as Context);

    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body!)).toEqual({ code: 'invalid-request', reason: expect.stringContaining('customer.kind') });
    expect(res.body).not.toContain('P-SECRET-77');
  });

  it('answers an unknown path with 404 naming the route to use, never echoing the path (it can hold an email)', async () => {
    const http = decisionsHttp({ customers: failing(), rules: { current: async () => new RuleSet([]) }, metrics: new MemoryMetrics() });

    const res = await http(request('', 'GET', '/v1/customers/Maria.Keller@example.com/decisions'), {} as Context);

    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body!)).toEqual({ code: 'not-found', reason: 'no such route; expected POST /v1/decisions' });
    expect(res.body!.toLowerCase()).not.toContain('maria.keller');
    expect(res.body).not.toContain('/v1/customers');
  });
});
