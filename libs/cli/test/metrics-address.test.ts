import { describe, expect, it } from 'vitest';
import { parseMetricsAddress } from '../src/options.js';

describe('--metrics ADDR', () => {
  it('is HOST:PORT; a bare :PORT or PORT is the loopback interface', () => {
    expect(parseMetricsAddress('9469')).toEqual({ host: '127.0.0.1', port: 9469 });
    expect(parseMetricsAddress(':9469')).toEqual({ host: '127.0.0.1', port: 9469 });
    expect(parseMetricsAddress('0.0.0.0:80')).toEqual({ host: '0.0.0.0', port: 80 });
    expect(parseMetricsAddress('localhost:65535')).toEqual({ host: 'localhost', port: 65535 });
    expect(parseMetricsAddress('[::1]:9469')).toEqual({ host: '::1', port: 9469 });
  });
  it('rejects what is not an address, naming the form to use', () => {
    for (const bad of ['', 'x', 'host:', ':', 'a:b', '1.2.3.4:65536', ':0', '[::1]', '::1:80', 'a b:1', '-x:1', 'h:1:2']) {
      expect(() => parseMetricsAddress(bad), bad).toThrow(/^--metrics: /);
    }
    expect(() => parseMetricsAddress('x:y')).toThrow("--metrics: 'x:y' is not HOST:PORT (e.g. 127.0.0.1:9469, :9469, or 0.0.0.0:9469 for every interface)");
  });
});
