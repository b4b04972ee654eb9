/**
 * One bench phase per catalog: record the gateway's answer to every case, start the reference replaying those
 * answers, check it answers the same, then measure each case with wrk — a warm-up of each target, then the
 * measured runs alternating gateway and reference, so a neighbour's load on this shared machine hits both alike.
 * Cold cases follow, since they publish releases and so change the pages.
 */
import type { BenchCase, ColdCase } from './cases.ts'
import { type Answer, answerHeaders, describe, get, send } from './http.ts'
import type { ReferenceRoute } from './reference.ts'
import { cpuSeconds, reapedCpuSeconds } from './procs.ts'
import { type Gateway, LOAD_CPU, startReference } from './targets.ts'
import { runWrk, type WrkResult } from './wrk.ts'

export interface LoadOptions {
  seconds: number
  warmupSeconds: number
  connections: number
  runs: number
}

/** A case resolved against the seeded catalog, with the gateway's recorded answer. */
interface Prepared {
  c: BenchCase
  path: string
  headers: Record<string, string>
  answer: Answer
}

/** A wrk run with the CPU share (of one core) the target and wrk used during it. */
export interface Run extends WrkResult {
  serverCpu: number
  loadCpu: number
}

export interface CaseResult {
  c: BenchCase
  gateway: Run[]
  reference: Run[]
}

export interface ColdResult {
  c: ColdCase
  publishMs: number[]
  firstMs: number[]
  nextMs: number[]
}

/** prepare requests a case once from the gateway and checks its status; a 304 case first fetches the ETag. */
async function prepare(gw: Gateway, c: BenchCase): Promise<{ prepared: Prepared; route: Answer }> {
  const path = c.path(gw.seeded)
  let headers = c.headers(gw.seeded)
  let route: Answer | undefined
  if (c.revalidate) {
    route = await get(gw.url + path, headers)
    const etag = route.headers.etag
    if (route.status !== 200 || !etag)
      throw new Error(`${c.name}: no 200 with an ETag to revalidate: ${describe(route)}`)
    headers = { ...headers, 'if-none-match': etag }
  }
  const answer = await get(gw.url + path, headers)
  if (answer.status !== c.status) {
    throw new Error(`${c.name}: the gateway answered ${describe(answer)}, expected ${c.status} (log: ${gw.log})`)
  }
  return { prepared: { c, path, headers, answer }, route: route ?? answer }
}

/** checkReference makes sure the reference answers each case like the gateway did: status, Location, ETag, bytes. */
async function checkReference(url: string, cases: Prepared[]): Promise<void> {
  for (const p of cases) {
    const got = await get(url + p.path, p.headers)
    const same =
      got.status === p.answer.status &&
      got.headers.location === p.answer.headers.location &&
      got.headers.etag === p.answer.headers.etag &&
      got.body.equals(p.answer.body)
    if (!same)
      throw new Error(`${p.c.name}: the reference answered ${describe(got)}, the gateway ${describe(p.answer)}`)
  }
}

/** measureCases runs the warm cases against the gateway and the reference; see the module comment. */
export async function measureCases(gw: Gateway, cases: BenchCase[], opts: LoadOptions): Promise<CaseResult[]> {
  const { connections } = opts
  const prepared: Prepared[] = []
  const routes = new Map<string, ReferenceRoute>()
  for (const c of cases) {
    const { prepared: p, route } = await prepare(gw, c)
    prepared.push(p)
    // The reference answers by path (and query) alone, so cases sharing a path must get the same answer there.
    const recorded = {
      path: p.path,
      status: route.status,
      headers: answerHeaders(route),
      body: route.body.toString('base64'),
    }
    const earlier = routes.get(p.path)
    if (earlier && (earlier.status !== recorded.status || earlier.body !== recorded.body)) {
      throw new Error(`${c.name}: another case requests ${p.path} and got another answer; give it its own path`)
    }
    routes.set(p.path, recorded)
  }
  const reference = await startReference(gw.dir, [...routes.values()])
  try {
    await checkReference(reference.url, prepared)
    const results: CaseResult[] = []
    for (const p of prepared) {
      const wrk = async (target: { url: string; pid: number }, seconds: number): Promise<Run> => {
        const server = cpuSeconds(target.pid)
        const load = reapedCpuSeconds()
        const r = await runWrk({ url: target.url + p.path, headers: p.headers, seconds, connections, cpu: LOAD_CPU })
        const serverCpu = (cpuSeconds(target.pid) - server) / r.seconds
        return { ...r, serverCpu, loadCpu: (reapedCpuSeconds() - load) / r.seconds }
      }
      process.stderr.write(`bench:   ${p.c.name}\n`)
      await wrk(gw, opts.warmupSeconds)
      await wrk(reference, opts.warmupSeconds)
      const result: CaseResult = { c: p.c, gateway: [], reference: [] }
      for (let i = 0; i < opts.runs; i++) {
        result.gateway.push(await wrk(gw, opts.seconds))
        result.reference.push(await wrk(reference, opts.seconds))
      }
      results.push(result)
    }
    return results
  } finally {
    await reference.stop()
  }
}

const elapsed = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6

/** publish publishes a draft release through the management API, as a vendor's CI would. */
async function publish(gw: Gateway, releaseId: string): Promise<void> {
  const answer = await send('POST', `${gw.url}/v1/releases/${releaseId}/actions/publish`, {
    authorization: `Bearer ${gw.adminToken}`,
    accept: 'application/vnd.api+json',
  })
  if (answer.status !== 200) throw new Error(`publishing release ${releaseId}: ${describe(answer)}`)
}

/**
 * measureCold times, reps times per case: a warm request, the publish of a draft release, the first request after
 * it (which must show the publish when the case's pool is its own page) and the request after that.
 */
export async function measureCold(gw: Gateway, cases: ColdCase[], reps: number): Promise<ColdResult[]> {
  const results: ColdResult[] = []
  for (const c of cases) {
    const path = c.path(gw.seeded)
    const headers = c.headers(gw.seeded)
    const result: ColdResult = { c, publishMs: [], firstMs: [], nextMs: [] }
    for (let i = 0; i < reps; i++) {
      const before = await get(gw.url + path, headers)
      const draft = gw.seeded.drafts[c.pool].shift()
      if (!draft) throw new Error(`${c.name}: no draft release left in pool ${c.pool}`)
      let t0 = process.hrtime.bigint()
      await publish(gw, draft)
      result.publishMs.push(elapsed(t0))
      t0 = process.hrtime.bigint()
      const first = await get(gw.url + path, headers)
      result.firstMs.push(elapsed(t0))
      t0 = process.hrtime.bigint()
      await get(gw.url + path, headers)
      result.nextMs.push(elapsed(t0))
      if (first.status !== c.status) throw new Error(`${c.name}: ${describe(first)}, expected ${c.status}`)
      if (c.changes && first.body.equals(before.body)) throw new Error(`${c.name}: the publish did not show`)
    }
    results.push(result)
  }
  return results
}
