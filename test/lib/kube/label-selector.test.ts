import test from 'ava';
import { ConfigError, load } from '../../../lib/config/settings.js';
import { optIn as optInSettings } from '../../../lib/config/nozzle.js';
import { LabelSelectorError, parseLabelSelector } from '../../../lib/kube/label-selector.js';
import { optIn, refusalReason } from '../../../lib/kube/opt-in.js';

const matches = (selector: string, labels: Record<string, string>) =>
  parseLabelSelector(selector).matches(labels);

test('equality-based requirements', (t) => {
  t.true(matches('nozzle=true', { nozzle: 'true', other: 'x' }));
  t.true(matches('nozzle==true', { nozzle: 'true' }));
  t.false(matches('nozzle=true', { nozzle: 'false' }));
  t.false(matches('nozzle=true', {}));
  t.true(matches('env!=prod', { env: 'dev' }));
  t.true(matches('env!=prod', {}), '!= also selects objects without the label');
  t.false(matches('env!=prod', { env: 'prod' }));
  t.true(matches('a=', { a: '' }), 'an empty value');
  t.false(matches('a=', {}));
  t.true(matches('example.com/team=shop', { 'example.com/team': 'shop' }));
});

test('set-based requirements and existence', (t) => {
  t.true(matches('tier in (web,api)', { tier: 'api' }));
  t.false(matches('tier in (web,api)', { tier: 'db' }));
  t.false(matches('tier in (web,api)', {}));
  t.true(matches('tier notin (web,api)', { tier: 'db' }));
  t.true(matches('tier notin (web,api)', {}), 'notin also selects objects without the label');
  t.false(matches('tier notin (web,api)', { tier: 'web' }));
  t.true(matches('nozzle', { nozzle: '' }));
  t.false(matches('nozzle', {}));
  t.true(matches('!frozen', {}));
  t.false(matches('!frozen', { frozen: 'false' }));
  t.true(matches('tier in (web, ,api)', { tier: '' }), 'an empty value inside the set');
});

test('commas AND requirements; whitespace between tokens is ignored', (t) => {
  const selector = parseLabelSelector('  nozzle = true , tier in ( web , api ),env!=prod,!frozen ');
  t.deepEqual(selector.requirements, [
    { key: 'nozzle', operator: 'in', values: ['true'] },
    { key: 'tier', operator: 'in', values: ['web', 'api'] },
    { key: 'env', operator: 'notIn', values: ['prod'] },
    { key: 'frozen', operator: 'doesNotExist', values: [] },
  ]);
  t.true(selector.matches({ nozzle: 'true', tier: 'web', env: 'dev' }));
  t.false(selector.matches({ nozzle: 'true', tier: 'web', env: 'prod' }));
  t.false(selector.matches({ nozzle: 'true', tier: 'web', frozen: 'yes' }));
  t.false(selector.matches({ tier: 'web' }));
  t.false(selector.matches(undefined));
  t.true(parseLabelSelector('').matches({}), 'the empty selector selects everything');
  t.false(matches('constructor', {}), 'no inherited property is a label');
});

test('selectors that are not selectors are refused with where and why', (t) => {
  const bad: [string, RegExp][] = [
    ['nozzle in (true', /expected "," or "\)" at position 16, found the end/],
    ['nozzle in true', /expected "\(" after in\/notin/],
    ['=true', /expected a label key at position 1, found "="/],
    ['a=b=c', /expected "," or the end at position 4/],
    ['a,,b', /expected a label key at position 3, found ","/],
    ['a,', /expected a label key at position 3, found the end/],
    ['a b', /expected an operator/],
    ['!a=b', /expected "," or the end/],
    ['a > 1', /numeric operators < and > are not supported/],
    ['-a=b', /"-a" is not a label key/],
    [`${'k'.repeat(64)}=v`, /is not a label key/],
    ['Example.com/a=b', /prefix must be a DNS subdomain/],
    ['a=b c', /expected "," or the end/],
    ['a=-b', /"-b" is not a label value/],
    [`a=${'v'.repeat(64)}`, /is not a label value/],
    ['a in (x,-y)', /"-y" is not a label value/],
  ];
  for (const [selector, message] of bad) {
    t.throws(() => parseLabelSelector(selector), { instanceOf: LabelSelectorError, message }, selector);
  }
});

test('NOZZLE_NAMESPACE_SELECTOR is checked at start-up, for the publisher and the worker alike', (t) => {
  const load_ = (value: string) =>
    load(optInSettings, { env: { NOZZLE_NAMESPACE_SELECTOR: value }, flags: new Map() });
  t.is(load_(' nozzle in (true, yes) ').namespaceSelector, 'nozzle in (true, yes)');
  const error = t.throws(() => load_('nozzle in (true'), { instanceOf: ConfigError });
  t.deepEqual(error?.settings, ['NOZZLE_NAMESPACE_SELECTOR']);
  t.regex(error?.message ?? '', /"nozzle in \(true" is not a label selector: expected "," or "\)"/);
  t.throws(() => load_('  '), { instanceOf: ConfigError, message: /must not be empty/ });
});

test('opt-in: the selector and Nozzle’s own namespace', (t) => {
  const rules = optIn('nozzle=true', 'nozzle-system');
  const ns = (name: string, labels?: Record<string, string>) => ({ metadata: { name, labels } });
  t.is(refusalReason(rules, ns('shop', { nozzle: 'true' })), undefined);
  t.regex(refusalReason(rules, ns('kube-system')) ?? '', /kube-system has not opted in/);
  t.regex(refusalReason(rules, ns('shop', { nozzle: 'false' })) ?? '', /has not opted in/);
  t.regex(refusalReason(rules, ns('nozzle-system', { nozzle: 'true' })) ?? '', /Nozzle's own/);
});
