import should from 'should';

import { parseOptions, positiveInteger } from '../../../bench/options';

describe('bench options', () => {
  function parse (argv: string[]): { keep: boolean; out: string; rounds: number } {
    const options = { keep: false, out: '', rounds: 1 };
    parseOptions(argv, {
      flags: { '--keep': () => { options.keep = true; } },
      values: {
        '--out': value => { options.out = value; },
        '--rounds': (value, key) => { options.rounds = positiveInteger(key, value); },
      },
    });
    return options;
  }

  it('hands values and flags to their handlers, a value keeping its own "="', () => {
    should(parse(['--rounds=3', '--keep', '--out=a=b'])).eql({ keep: true, out: 'a=b', rounds: 3 });
    should(parse([])).eql({ keep: false, out: '', rounds: 1 });
  });

  it('refuses an unknown option, naming the known ones', () => {
    should(() => parse(['--round=3'])).throw('unknown option --round=3 (options: --out=…, --rounds=…, --keep)');
  });

  it('refuses a value option without its value, and a flag given a value', () => {
    should(() => parse(['--rounds'])).throw(/^unknown option --rounds /);
    should(() => parse(['--rounds='])).throw(/^unknown option --rounds= /);
    should(() => parse(['--keep=yes'])).throw(/^unknown option --keep=yes /);
  });

  it('checks numbers at the boundary', () => {
    should(() => parse(['--rounds=0'])).throw('--rounds: expected a positive integer, got 0');
    should(() => parse(['--rounds=2.5'])).throw('--rounds: expected a positive integer, got 2.5');
    should(() => parse(['--rounds=x'])).throw('--rounds: expected a positive integer, got x');
  });
});
