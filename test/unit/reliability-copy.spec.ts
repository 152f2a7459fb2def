import { getThisReliabilityCopy, twoCopiesError } from '../../src/reliability-copy';

describe('twoCopiesError', () => {
  it('says the same files were loaded twice when both copies have one path', () => {
    const message = twoCopiesError(getThisReliabilityCopy()).message;
    expect(message).toContain('The same files were loaded twice');
    expect(message).toContain('jest.resetModules');
    expect(message).not.toContain('npm ls');
  });

  it('points at the installed versions when the copies differ', () => {
    const message = twoCopiesError({ version: '0.0.0-other', location: '/elsewhere/dist/cjs' }).message;
    expect(message).toContain('ReliabilityModule from 0.0.0-other at /elsewhere/dist/cjs');
    expect(message).toContain('npm ls nestjs-reliability');
  });
});
