import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/manifests.js';
import {
  customQuery,
  lastRequests,
  presetQuery,
  PRESETS,
  windowParts,
} from '../../publisher/activity-query.js';

test('the traefik preset: increase, > 0, timestamp, max_over_time over the lookback; namespace from the service', (t) => {
  t.is(
    presetQuery('traefik', { lookback: 30 * 60_000 }).promql,
    'max_over_time((timestamp(sum by (namespace) (label_replace(increase(traefik_service_requests_total{service=~".+@kubernetes(?:gateway|crd)?"}[3m]), "namespace", "$1", "service", "(?:httproute-)?(.+)@kubernetes(?:gateway|crd)?")) > 0))[30m:1m])',
  );
  t.is(presetQuery('traefik', { lookback: 1 }).match, 'prefix');
});

test('every preset keeps a namespace label and uses increase (counters reset on reload)', (t) => {
  for (const preset of PRESETS) {
    const { promql } = presetQuery(preset, { lookback: 30 * 60_000 });
    t.regex(promql, /sum by \(namespace\)/, preset);
    t.regex(promql, /increase\(/, preset);
    t.regex(promql, /^max_over_time\(\(timestamp\(/, preset);
  }
  t.is(presetQuery('istio', { lookback: 1 }).match, 'exact');
});

test('the subquery has at most ~1000 steps of at least a minute', (t) => {
  t.deepEqual(windowParts({ lookback: 30 * 60_000 }), { lookback: '30m', step: '1m', range: '3m' });
  t.deepEqual(windowParts({ lookback: 7 * 86_400_000 }), { lookback: '10087m', step: '11m', range: '13m' });
});

test('steps are whole scrape intervals and the range a step and two scrapes: a 5 s scrape knows the last request to 15 s', (t) => {
  t.deepEqual(windowParts({ lookback: 40_000, scrapeInterval: 5_000 }), {
    lookback: '40s',
    step: '5s',
    range: '15s',
  });
  t.deepEqual(windowParts({ lookback: 30 * 60_000, scrapeInterval: 5_000 }), {
    lookback: '30m',
    step: '5s',
    range: '15s',
  });
  t.deepEqual(windowParts({ lookback: 7 * 86_400_000, scrapeInterval: 30_000 }), {
    lookback: '10080m',
    step: '630s',
    range: '690s',
  });
  t.deepEqual(
    windowParts({ lookback: 30 * 60_000, scrapeInterval: 60_000 }),
    windowParts({ lookback: 30 * 60_000 }),
  );
  t.is(
    presetQuery('istio', { lookback: 40_000, scrapeInterval: 5_000 }).promql,
    'max_over_time((timestamp(sum by (namespace) (label_replace(increase(istio_requests_total{destination_service_namespace!=""}[15s]), "namespace", "$1", "destination_service_namespace", "(.+)")) > 0))[40s:5s])',
  );
});

test('a custom query gets its placeholders replaced', (t) => {
  t.deepEqual(
    customQuery('max_over_time(my_last{x="$1"}[$__lookback:$__step]) or $__range', { lookback: 3_600_000 }),
    {
      promql: 'max_over_time(my_last{x="$1"}[60m:1m]) or 3m',
      match: 'exact',
    },
  );
});

test('prefix names count for every opted-in namespace they could belong to, the newest wins', (t) => {
  const got = lastRequests(
    [
      { namespace: 'team-a-web-80', at: 5 },
      { namespace: 'team-a-api-80', at: 9 },
      { namespace: 'shop-web-80', at: 7 },
      { namespace: 'other-web-80', at: 8 },
    ],
    'prefix',
    ['team', 'team-a', 'shop', 'quiet'],
  );
  t.deepEqual(Object.fromEntries(got), { team: 9, 'team-a': 9, shop: 7 });
  t.deepEqual(
    Object.fromEntries(
      lastRequests(
        [
          { namespace: 'shop', at: 3 },
          { namespace: 'shop-web', at: 4 },
        ],
        'exact',
        ['shop'],
      ),
    ),
    { shop: 3 },
  );
});

test('docs/activity.md shows the exact query of every preset at the defaults, and the sandbox one', (t) => {
  const doc = readFileSync(join(repoRoot, 'docs/activity.md'), 'utf8');
  for (const preset of PRESETS) {
    t.true(doc.includes(presetQuery(preset, { lookback: 30 * 60_000 }).promql), preset);
  }
  t.true(doc.includes(presetQuery('traefik', { lookback: 30 * 60_000, scrapeInterval: 5_000 }).promql));
});
