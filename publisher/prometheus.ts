/**
 * A minimal Prometheus HTTP API client: one instant query, a timeout, and a
 * strict check of the answer's shape. Every failure is an
 * ActivityUnavailableError with a short `reason` (the metric's label): the
 * round then puts nothing to sleep.
 */
export type UnavailableReason = 'timeout' | 'unreachable' | 'http' | 'query' | 'response';

export class ActivityUnavailableError extends Error {
  override readonly name = 'ActivityUnavailableError';
  constructor(
    readonly reason: UnavailableReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface Sample {
  readonly namespace: string;
  /** The sample's value in milliseconds (the query returns Unix seconds). */
  readonly at: number;
}

/** Values before this are not Unix times: the query returned a count or a rate. */
const YEAR_2000 = 946_684_800;

export async function queryActivity(
  baseUrl: string,
  promql: string,
  options: { timeout: number; now: Date; fetch?: typeof fetch },
): Promise<Sample[]> {
  const url = new URL('api/v1/query', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const body = new URLSearchParams({ query: promql, time: String(options.now.getTime() / 1000) });
  let response: Response;
  let text: string;
  try {
    response = await (options.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      signal: AbortSignal.timeout(options.timeout),
    });
    text = await response.text();
  } catch (err) {
    const timedOut = err instanceof DOMException && err.name === 'TimeoutError';
    throw new ActivityUnavailableError(
      timedOut ? 'timeout' : 'unreachable',
      timedOut
        ? `Prometheus at ${url.origin} did not answer within ${options.timeout}ms`
        : `cannot reach Prometheus at ${url.origin}: ${describeCause(err)}`,
      { cause: err },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ActivityUnavailableError(
      'http',
      `Prometheus answered HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`,
    );
  }
  if (!isObject(json)) throw new ActivityUnavailableError('response', 'the answer is not a JSON object');
  if (json.status !== 'success') {
    const reason =
      response.status >= 400 && response.status !== 422 && response.status !== 400 ? 'http' : 'query';
    throw new ActivityUnavailableError(
      reason,
      `Prometheus refused the query (HTTP ${response.status}, ${String(json.errorType)}): ${String(json.error)}`,
    );
  }
  const data = json.data;
  if (!isObject(data) || data.resultType !== 'vector' || !Array.isArray(data.result)) {
    throw new ActivityUnavailableError(
      'response',
      `the query must return an instant vector, got ${isObject(data) ? String(data.resultType) : 'no data'}`,
    );
  }
  const latest = options.now.getTime() / 1000 + 86_400;
  return data.result.map((item: unknown, i): Sample => {
    const metric = isObject(item) && isObject(item.metric) ? item.metric : undefined;
    const value = isObject(item) && Array.isArray(item.value) ? item.value : undefined;
    const namespace = metric?.namespace;
    if (typeof namespace !== 'string' || namespace === '') {
      throw new ActivityUnavailableError(
        'response',
        `series ${i} has no "namespace" label (${JSON.stringify(metric ?? item)}): the query must keep one, e.g. sum by (namespace)`,
      );
    }
    const seconds = Number(value?.[1]);
    if (!Number.isFinite(seconds) || seconds < YEAR_2000 || seconds > latest) {
      throw new ActivityUnavailableError(
        'response',
        `series for namespace ${namespace} has value ${String(value?.[1])}, not the Unix time of a last request (a count or a rate? see docs/activity.md)`,
      );
    }
    return { namespace, at: Math.round(seconds * 1000) };
  });
}

function describeCause(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
