import { describe, expect, it, vi } from 'vitest'

const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

describe('requestId', () => {
  it('is shaped as a UUID, shares its random prefix within a process and counts after it', async () => {
    const { requestId } = await import('../../gateway/request-id.ts')
    const ids = Array.from({ length: 1000 }, () => requestId())
    for (const id of ids) expect(id).toMatch(UUID_SHAPE)
    expect(new Set(ids).size).toBe(1000)
    expect(new Set(ids.map((id) => id.slice(0, 24))).size).toBe(1)
    const counters = ids.map((id) => Number.parseInt(id.slice(24), 16))
    for (let i = 1; i < counters.length; i++) expect(counters[i]).toBe(counters[i - 1] + 1)
  })

  it('draws another prefix in another process (module instance)', async () => {
    const first = (await import('../../gateway/request-id.ts')).requestId()
    vi.resetModules()
    const second = (await import('../../gateway/request-id.ts')).requestId()
    expect(second.slice(0, 24)).not.toBe(first.slice(0, 24))
  })
})
