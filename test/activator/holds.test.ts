import test from 'ava';
import { Gauge, Registry } from 'prom-client';
import { HoldSlots } from '../../activator/holds.js';

test('the hold limit is per namespace and a slot is released once', async (t) => {
  const registry = new Registry();
  const gauge = new Gauge({ name: 'held', help: 'h', registers: [registry] });
  const slots = new HoldSlots(2, gauge);
  const a = slots.tryAcquire('ns');
  const b = slots.tryAcquire('ns');
  t.truthy(a && b);
  t.is(slots.tryAcquire('ns'), undefined);
  t.truthy(slots.tryAcquire('other'));
  a!.release();
  a!.release();
  t.is(slots.held('ns'), 1);
  t.truthy(slots.tryAcquire('ns'));
  t.is(slots.tryAcquire('ns'), undefined);
  t.is(slots.held(), 3);
  t.is((await gauge.get()).values[0]?.value, 3);
});
