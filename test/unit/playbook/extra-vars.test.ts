// -e/--var values: built-ins only, refused before any host with the flag and the key named.
import { describe, expect, it } from 'vitest';
import { checkExtraVars } from '../../../src/playbook/extra-vars.js';

describe('-e/--var values', () => {
  it('may use the built-ins', () => {
    expect(() => checkExtraVars({ dev: '/tmp/dd-{{ host }}.disk' })).not.toThrow();
  });
  it.each([
    [
      { dev: '/tmp/{{ mnt }}' },
      '-e/--var dev=/tmp/{{ mnt }}: unknown variable "mnt"; a --var value may use only the built-ins host, port, run_id, user',
    ],
    [{ dev: '/tmp/{{ host | upper }}' }, '-e/--var dev=/tmp/{{ host | upper }}: malformed template'],
    [{ host: 'x' }, '-e/--var host=x: "host" is a built-in variable and cannot be set'],
  ])('are refused, naming -e/--var and the key: %j', (vars, message) => {
    expect(() => checkExtraVars(vars)).toThrow(message);
  });
});
