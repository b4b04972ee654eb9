import { describe, expect, it } from 'vitest'
import { runFuzz } from './fuzz.ts'

/** A sample of the fuzz campaign (`npm run fuzz` sends 100,000): 2,000 generated requests, none may get a 5xx. */
describe('fuzzing the management API and the engines', () => {
  it('answers 2,000 generated requests without a 5xx and stays healthy', async () => {
    const report = await runFuzz({ count: 2000, seed: 20261201, concurrency: 8, maxMs: 120_000, storage: 'filesystem' })
    expect(report.sent).toBe(2000)
    expect(report.serverErrors).toEqual([])
    expect(report.healthy).toBe(true)
    // Most requests are answered; the rest are uploads the gateway refused and closed the connection on.
    expect(report.noAnswer.length).toBeLessThan(20)
    // The generator reaches past authentication and lookups, not only 401 and 404.
    for (const status of ['200', '201', '400', '401', '403', '404', '422'])
      expect(report.byStatus[status]).toBeGreaterThan(0)
  }, 180_000)
})
