import test from 'ava';
import { ByteSizeError, formatByteSize, parseByteSize } from '../../lib/bytes.js';
import { byteSize, ConfigError, load } from '../../lib/config/settings.js';

test('sizes read with or without a binary unit', (t) => {
  t.is(parseByteSize('512'), 512);
  t.is(parseByteSize('512B'), 512);
  t.is(parseByteSize('16KiB'), 16 * 1024);
  t.is(parseByteSize(' 16Ki '), 16 * 1024);
  t.is(parseByteSize('256MiB'), 256 * 1024 ** 2);
  t.is(parseByteSize('1Gi'), 1024 ** 3);
  for (const bad of ['', 'KiB', '1.5MiB', '16KB', '16kb', '-1', '16 K', '1BB', '9'.repeat(30)])
    t.throws(() => parseByteSize(bad), { instanceOf: ByteSizeError }, bad);
});

test('sizes are shown in the largest unit that divides them, and read back', (t) => {
  for (const [bytes, text] of [
    [268_435_456, '256MiB'],
    [16_384, '16KiB'],
    [1_073_741_824, '1GiB'],
    [1_500, '1500B'],
    [0, '0B'],
  ] as const) {
    t.is(formatByteSize(bytes), text);
    t.is(parseByteSize(text), bytes);
  }
});

test('a size setting checks its range and names it', (t) => {
  const settings = {
    size: byteSize({ env: 'SIZE', default: 16 * 1024, min: 8 * 1024, max: 1024 ** 2, doc: 'size' }),
  };
  t.is(load(settings, { env: {}, flags: new Map() }).size, 16 * 1024);
  t.is(load(settings, { env: { SIZE: '64KiB' }, flags: new Map() }).size, 64 * 1024);
  const low = t.throws(() => load(settings, { env: { SIZE: '4KiB' }, flags: new Map() }), {
    instanceOf: ConfigError,
  });
  t.is(low.message, 'invalid configuration: SIZE: 4KiB is out of range 8KiB..1MiB');
  t.throws(() => load(settings, { env: { SIZE: '16KB' }, flags: new Map() }), { message: /invalid size/ });
  t.is(settings.size.show(16 * 1024), '16KiB');
});
