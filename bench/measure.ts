/**
 * One bench phase per catalog: record the gateway's answer to every case, start the foreign servers some cases
 * compare with (bench/foreign.ts) and check they answer the same content, then measure in rounds. Each round starts
 * the reference replaying the recorded answers (and, after the first, a new gateway process), checks both answer as
 * recorded, and measures each case with wrk: a warm-up of each target, then the measured runs alternating gateway,
 * reference (and foreign server), so a neighbour's load on this shared machine hits all alike. Rounds exist because
 * a Node.js process may serve the same requests up to ~25% faster or slower than the next start of the same
 * program, and keep that pace: with one start per target, a ratio near 1× would be partly a draw.
 * Cold cases follow, since they publish releases and so change the pages.
 */
import type { BenchCase, ColdCase, ForeignKind } from './cases.ts'
import { type ForeignServer, startDockerRegistry, startVerdaccio } from './foreign.ts'
import { type Answer, answerHeaders, describe, get, send } from './http.ts'
import type { ReferenceRoute } from './reference.ts'
import { cpuSeconds, reapedCpuSeconds } from './procs.ts'
import { type Gateway, LOAD_CPU, startReference } from './targets.ts'
import { runWrk, type WrkResult } from './wrk.ts'

export interface LoadOptions {
  seconds: number
  warmupSeconds: number
  connections: number
  /** Rounds, each with a fresh gateway and reference process (throughput differs from one start to the next). */
  starts: number
  /** Measured runs per target and start. */
  runs: number
}

/** A case resolved against the seeded catalog, with the gateway's recorded answer. */
interface Prepared {
  c: BenchCase
  path: string
  headers: Record<string, string>
  answer: Answer
  /** The answer the reference replays for the path: the gateway's 200 (also for a 304 case). */
  route: Answer
}

/** A server a case is measured on, the request it gets there, and the list its measured runs go into. */
interface Target {
  url: string
  pid: number
  path: string
  headers: Record<string, string>
  runs: Run[]
}

/** A wrk run with the CPU share (of one core) the target and wrk used during it. */
export interface Run extends WrkResult {
  serverCpu: number
  loadCpu: number
}

export interface CaseResult {
  c: BenchCase
  /** Body bytes of the gateway's answer. */
  bytes: number
  gateway: Run[]
  reference: Run[]
  /** The runs of the case's foreign server, when it has one. */
  foreign?: { label: string; runs: Run[] }
}

export interface ColdResult {
  c: ColdCase
  publishMs: number[]
  firstMs: number[]
  nextMs: number[]
}

/** prepare requests a case once from the gateway and checks its status; a 304 case first fetches the ETag. */
async function prepare(gw: Gateway, c: BenchCase): Promise<Prepared> {
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
  return { c, path, headers, answer, route: route ?? answer }
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

/**
 * measureCases runs the warm cases against the gateway, the reference and any foreign server; see the module
 * comment. The gateway and the reference are started anew for each of `starts` rounds.
 */
export async function measureCases(gw: Gateway, cases: BenchCase[], opts: LoadOptions): Promise<CaseResult[]> {
  const { connections } = opts
  const prepared: Prepared[] = []
  const routes = new Map<string, ReferenceRoute>()
  for (const c of cases) {
    const p = await prepare(gw, c)
    prepared.push(p)
    // The reference answers by path (and query) alone, so cases sharing a path must get the same answer there.
    const recorded = {
      path: p.path,
      status: p.route.status,
      headers: answerHeaders(p.route),
      body: p.route.body.toString('base64'),
    }
    const earlier = routes.get(p.path)
    if (earlier && (earlier.status !== recorded.status || earlier.body !== recorded.body)) {
      throw new Error(`${c.name}: another case requests ${p.path} and got another answer; give it its own path`)
    }
    routes.set(p.path, recorded)
  }
  const results: CaseResult[] = prepared.map((p) => ({
    c: p.c,
    bytes: p.answer.body.length,
    gateway: [],
    reference: [],
  }))
  const wrk = async (target: Target, seconds: number): Promise<Run> => {
    const server = cpuSeconds(target.pid)
    const load = reapedCpuSeconds()
    const url = target.url + target.path
    const r = await runWrk({ url, headers: target.headers, seconds, connections, cpu: LOAD_CPU })
    const serverCpu = (cpuSeconds(target.pid) - server) / r.seconds
    return { ...r, serverCpu, loadCpu: (reapedCpuSeconds() - load) / r.seconds }
  }
  const foreign = new Map<ForeignKind, ForeignServer>()
  try {
    await startForeign(gw, prepared, foreign)
    for (let round = 0; round < opts.starts; round++) {
      if (round > 0) {
        process.stderr.write(
          `bench:   restarting the gateway and the reference (start ${round + 1} of ${opts.starts})\n`,
        )
        await gw.restart()
        await checkGateway(gw, prepared)
      }
      const reference = await startReference(gw.dir, [...routes.values()])
      try {
        await checkReference(reference.url, prepared)
        for (const [at, p] of prepared.entries()) {
          const result = results[at]
          const request = { path: p.path, headers: p.headers }
          const pair: Target[] = [
            { url: gw.url, pid: gw.pid, ...request, runs: result.gateway },
            { url: reference.url, pid: reference.pid, ...request, runs: result.reference },
          ]
          // Whichever goes first after the warm-ups alternates from one start to the next.
          const targets = round % 2 === 0 ? pair : [pair[1], pair[0]]
          const other = p.c.foreign && foreign.get(p.c.foreign.target)
          if (p.c.foreign && other) {
            const { path, headers } = p.c.foreign
            result.foreign ??= { label: other.label, runs: [] }
            targets.push({
              url: other.url,
              pid: other.pid,
              path: path(gw.seeded),
              headers: headers(gw.seeded),
              runs: result.foreign.runs,
            })
          }
          if (round === 0) process.stderr.write(`bench:   ${p.c.name}\n`)
          for (const t of targets) await wrk(t, opts.warmupSeconds)
          for (let i = 0; i < opts.runs; i++) {
            for (const t of targets) t.runs.push(await wrk(t, opts.seconds))
          }
        }
      } finally {
        await reference.stop()
      }
    }
    return results
  } finally {
    for (const server of foreign.values()) await server.stop()
  }
}

/** checkGateway makes sure a restarted gateway still answers each case with its status and ETag. */
async function checkGateway(gw: Gateway, cases: Prepared[]): Promise<void> {
  for (const p of cases) {
    const got = await get(gw.url + p.path, p.headers)
    if (got.status !== p.answer.status || got.headers.etag !== p.answer.headers.etag) {
      throw new Error(`${p.c.name}: the restarted gateway answered ${describe(got)}, before ${describe(p.answer)}`)
    }
  }
}

/**
 * startForeign starts each foreign server the cases compare with (into servers, so the caller stops them even when
 * a later one fails) and checks each answers its case with the same content as the gateway.
 */
async function startForeign(gw: Gateway, prepared: Prepared[], servers: Map<ForeignKind, ForeignServer>) {
  const compared = prepared.filter((p) => p.c.foreign !== undefined)
  const kinds = new Set(compared.map((p) => p.c.foreign!.target))
  if (kinds.has('verdaccio')) {
    const packuments = compared.filter((p) => p.c.foreign!.target === 'verdaccio').map((p) => p.route.body)
    process.stderr.write('bench:   starting Verdaccio\n')
    servers.set('verdaccio', await startVerdaccio(gw.dir, packuments))
  }
  if (kinds.has('docker-registry')) {
    process.stderr.write('bench:   starting docker-registry and copying the image to it with skopeo\n')
    servers.set('docker-registry', await startDockerRegistry(gw.dir, gw.seeded.oci))
  }
  for (const p of compared) {
    const f = p.c.foreign!
    const server = servers.get(f.target)!
    const got = await get(server.url + f.path(gw.seeded), f.headers(gw.seeded))
    const why = got.status === f.status ? f.differs(got, p.route, gw.seeded) : `status ${got.status}, not ${f.status}`
    if (why) throw new Error(`${p.c.name}: ${server.label} answered ${why}: ${describe(got)}`)
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
