import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli.js';

describe('nerd cli', () => {
  it('builds a program named nerd', () => {
    expect(buildProgram().name()).toBe('nerd');
  });
});
