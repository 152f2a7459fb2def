import { Pool } from 'pg';
import { listenForPoolErrors } from '../../src/database/pool-errors';

describe('listenForPoolErrors', () => {
  const lost = Object.assign(new Error('terminating connection due to administrator command'), {
    code: '57P01',
  });

  it('adds one listener per pool, however many apps of the process ask', () => {
    const pool = new Pool();
    listenForPoolErrors(pool, () => undefined);
    listenForPoolErrors(pool, () => undefined);
    expect(pool.listenerCount('error')).toBe(1);
  });

  it("keeps an idle client's error from crashing the process, and warns only when alone", () => {
    const pool = new Pool();
    const warnings: string[] = [];
    listenForPoolErrors(pool, (message) => warnings.push(message));
    expect(() => pool.emit('error', lost)).not.toThrow();
    expect(warnings).toEqual([
      expect.stringContaining('Idle database connection lost (terminating connection'),
    ]);

    const own: Error[] = [];
    pool.on('error', (error) => own.push(error));
    pool.emit('error', lost);
    expect(own).toEqual([lost]);
    expect(warnings).toHaveLength(1); // the app's listener has it: no second log
  });
});
