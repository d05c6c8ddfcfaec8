import test from 'ava';
import { Gauge, Registry } from 'prom-client';
import { HELD_CONNECTION_BYTES, HoldBudget } from '../../activator/hold-budget.js';

test('each connection is charged the estimate plus its bytes; past the budget the next is refused', async (t) => {
  const registry = new Registry();
  const gauge = new Gauge({ name: 'used', help: 'u', registers: [registry] });
  const budget = new HoldBudget(2 * HELD_CONNECTION_BYTES + 1000, gauge);
  const a = budget.tryCharge(100);
  const b = budget.tryCharge(100);
  t.truthy(a && b);
  t.is(budget.used, 2 * HELD_CONNECTION_BYTES + 200);
  t.is(budget.tryCharge(0), undefined, 'no room for one more connection');
  a!.add(5000); // buffered while held: charged, never cut off
  t.is(budget.used, 2 * HELD_CONNECTION_BYTES + 5200);
  a!.release();
  a!.release();
  a!.add(1); // after release: nothing
  t.is(budget.used, HELD_CONNECTION_BYTES + 100);
  t.is((await gauge.get()).values[0]?.value, HELD_CONNECTION_BYTES + 100);
  t.truthy(budget.tryCharge(900));
  t.is(budget.tryCharge(0), undefined);
  b!.release();
});

test('the head counts at admission: a big head does not fit where a small one does', (t) => {
  const budget = new HoldBudget(HELD_CONNECTION_BYTES + 1000);
  t.is(budget.tryCharge(1001), undefined);
  t.truthy(budget.tryCharge(1000));
});
