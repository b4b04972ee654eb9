import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { Catalog } from './catalog/db.ts'
import { jobQueueStats } from './catalog/job-stats.ts'

/**
 * Prometheus metrics of this process, in one registry of their own (not prom-client's global one, so a host
 * application that mounts pkgway keeps its own). Code anywhere records through the small functions below; only
 * the metrics listener (metrics-server.ts) reads them. See README "Metrics" for the list.
 */
export const registry = new Registry()

/** One label set's numbers in a {@link PlainMetric}. */
interface Series {
  count: number
  sum: number
  /** Upper bounds of the buckets (the metric's own); empty for a counter. */
  bounds: readonly number[]
  /** Observations per bucket (not cumulative); histograms only. */
  buckets: Float64Array
}

interface MetricValue {
  labels: Record<string, string | number>
  value: number
  metricName?: string
}

/**
 * A labelled counter or histogram kept in plain numbers: the per-request series (request counts and latencies, cache
 * lookups) are recorded on every hot request, where prom-client's own `inc`/`observe` would hash the label set each
 * time. A series is bound once per label set; recording is an add. prom-client reads them at a scrape through
 * {@link PlainMetric.get}, the interface every registered metric implements, and formats them as usual.
 */
class PlainMetric {
  readonly aggregator = 'sum'
  readonly #series = new Map<string, { labels: Record<string, string>; series: Series }>()

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    readonly buckets: readonly number[] = [],
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0])
  }

  /** series returns the series of a label set, creating it; callers keep it and record into it directly. */
  series(labels: Record<string, string>): Series {
    const key = JSON.stringify(labels)
    let entry = this.#series.get(key)
    if (!entry) {
      const series = { count: 0, sum: 0, bounds: this.buckets, buckets: new Float64Array(this.buckets.length) }
      entry = { labels, series }
      this.#series.set(key, entry)
    }
    return entry.series
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = []
    for (const { labels, series } of this.#series.values()) {
      if (this.type === 'counter') {
        values.push({ labels, value: series.count })
        continue
      }
      let cumulative = 0
      this.buckets.forEach((le, i) => {
        cumulative += series.buckets[i]
        values.push({ labels: { le, ...labels }, value: cumulative, metricName: `${this.name}_bucket` })
      })
      values.push({ labels: { le: '+Inf', ...labels }, value: series.count, metricName: `${this.name}_bucket` })
      values.push({ labels, value: series.sum, metricName: `${this.name}_sum` })
      values.push({ labels, value: series.count, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }
}

/** observe records one observation into a histogram series. */
function observe(series: Series, value: number): void {
  series.count++
  series.sum += value
  const { bounds } = series
  for (let i = 0; i < bounds.length; i++) {
    if (value <= bounds[i]) {
      series.buckets[i]++
      return
    }
  }
}

const httpRequests = new PlainMetric(
  'pkgway_http_requests_total',
  'HTTP requests answered, by route pattern, engine and status class',
  'counter',
)

const httpDuration = new PlainMetric(
  'pkgway_http_request_duration_seconds',
  'Time to answer an HTTP request, by route pattern, engine and status class',
  'histogram',
  [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
)

const rateLimited = new Counter({
  name: 'pkgway_http_rate_limited_total',
  help: 'Requests answered 429 Too Many Requests',
  labelNames: ['route', 'engine'],
  registers: [registry],
})

const unavailable = new Counter({
  name: 'pkgway_http_unavailable_total',
  help: 'Requests answered 503 Service Unavailable (catalog or storage outage)',
  labelNames: ['route', 'engine'],
  registers: [registry],
})

const cacheLookups = new PlainMetric(
  'pkgway_cache_lookups_total',
  'Lookups in the in-memory caches, by cache and result (hit or miss)',
  'counter',
)

const revisionLag = new Histogram({
  name: 'pkgway_revision_propagation_lag_seconds',
  help: 'Time from a catalog write on one instance until this instance saw its revision',
  buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
  registers: [registry],
})

const jobOutcomes = new Counter({
  name: 'pkgway_job_outcomes_total',
  help: 'Jobs run by the workers of this process, by kind and outcome',
  labelNames: ['kind', 'outcome'],
  registers: [registry],
})

const uploadBytes = new Counter({
  name: 'pkgway_upload_bytes_total',
  help: "Bytes stored through the gateway's signed upload route",
  registers: [registry],
})

const verifiedBytes = new Counter({
  name: 'pkgway_verified_upload_bytes_total',
  help: 'Bytes of artifacts verified by the workers of this process, whatever way they were uploaded',
  registers: [registry],
})

const jobs = new Gauge({
  name: 'pkgway_jobs',
  help: 'Jobs in the queue (shared by all instances), by kind and status (queued, running)',
  labelNames: ['kind', 'status'],
  registers: [registry],
})

const jobAge = new Gauge({
  name: 'pkgway_jobs_oldest_age_seconds',
  help: 'Age of the oldest due queued job (since it became due) and the oldest running job (since its claim)',
  labelNames: ['kind', 'status'],
  registers: [registry],
})

const catalogUp = new Gauge({
  name: 'pkgway_catalog_up',
  help: '1 while the catalog answers queries, 0 during an outage',
  registers: [registry],
})

/** The catalog whose queue and availability the gauges show; set by {@link observeCatalog}. */
let observed: Catalog | null = null
/** The queue gauges wait this long for the catalog at a scrape; a scrape during an outage just omits them. */
const QUEUE_STATS_TIMEOUT_MS = 2_000

/** statusClass buckets a status code: 2xx, 3xx, 4xx, 5xx. */
const statusClass = (status: number): string => `${Math.floor(status / 100)}xx`

export interface RequestSample {
  method: string
  /** Route pattern (`/v1/engines/pypi/simple/:project/`), never the raw URL, so the label set stays bounded. */
  route: string
  engine: string
  status: number
  seconds: number
}

/** The request series of each label set, bound once: a hot request then costs a Map lookup and two adds. */
const requestSeries = new Map<string, { count: Series; duration: Series }>()

/** recordRequest counts one answered request and its latency; 429s and 503s are also counted on their own. */
export function recordRequest(s: RequestSample): void {
  const series = requestSeriesOf(s)
  series.count.count++
  observe(series.duration, s.seconds)
  if (s.status === 429) rateLimited.inc({ route: s.route, engine: s.engine })
  if (s.status === 503) unavailable.inc({ route: s.route, engine: s.engine })
}

/**
 * requestRecorder binds the series of one label set of successful answers (2xx, 3xx) and returns what counts one
 * more, for a caller that gives the same answer many times (gateway/replay.ts).
 */
export function requestRecorder(s: Omit<RequestSample, 'seconds'>): (seconds: number) => void {
  const { count, duration } = requestSeriesOf(s)
  return (seconds) => {
    count.count++
    observe(duration, seconds)
  }
}

function requestSeriesOf(s: Omit<RequestSample, 'seconds'>): { count: Series; duration: Series } {
  const status_class = statusClass(s.status)
  const key = `${s.method} ${status_class} ${s.engine} ${s.route}`
  let series = requestSeries.get(key)
  if (!series) {
    const labels = { method: s.method, route: s.route, engine: s.engine, status_class }
    series = { count: httpRequests.series(labels), duration: httpDuration.series(labels) }
    requestSeries.set(key, series)
  }
  return series
}

/** The hit and miss series of each cache, bound once (lookups are on every hot request). */
const cacheSeries = new Map<string, { hit: Series; miss: Series }>()

/** cacheLookupRecorder binds the named in-memory cache's series once and returns what counts a lookup in it. */
export function cacheLookupRecorder(cache: string): (hit: boolean) => void {
  let series = cacheSeries.get(cache)
  if (!series) {
    series = {
      hit: cacheLookups.series({ cache, result: 'hit' }),
      miss: cacheLookups.series({ cache, result: 'miss' }),
    }
    cacheSeries.set(cache, series)
  }
  const { hit, miss } = series
  return (found) => {
    ;(found ? hit : miss).count++
  }
}

/** recordRevisionLag records how long a catalog revision took to reach this instance, in seconds. */
export function recordRevisionLag(seconds: number): void {
  revisionLag.observe(Math.max(0, seconds))
}

export type JobOutcomeLabel = 'done' | 'retrying' | 'failed' | 'rescheduled' | 'released' | 'lost'

/** recordJobOutcome counts how a job run ended. */
export function recordJobOutcome(kind: string, outcome: JobOutcomeLabel): void {
  jobOutcomes.inc({ kind, outcome })
}

/** recordUploadBytes counts bytes stored through the gateway's signed upload route. */
export function recordUploadBytes(bytes: number): void {
  uploadBytes.inc(bytes)
}

/** recordVerifiedBytes counts the bytes of an artifact a worker verified. */
export function recordVerifiedBytes(bytes: number): void {
  verifiedBytes.inc(bytes)
}

/** observeCatalog makes the queue and availability gauges read this catalog at each scrape. */
export function observeCatalog(catalog: Catalog): void {
  observed = catalog
}

let defaultsOn = false

/** enableProcessMetrics adds Node's process metrics (CPU, memory, event loop lag, ...) once per process. */
export function enableProcessMetrics(): void {
  if (defaultsOn) return
  defaultsOn = true
  collectDefaultMetrics({ register: registry, prefix: 'pkgway_' })
}

async function refreshCatalogGauges(): Promise<void> {
  jobs.reset()
  jobAge.reset()
  catalogUp.reset()
  const catalog = observed
  if (!catalog) return
  catalogUp.set(catalog.health.state === 'up' ? 1 : 0)
  let timer: NodeJS.Timeout | undefined
  const stats = await Promise.race([
    jobQueueStats(catalog.db, new Date()).catch(() => null),
    new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), QUEUE_STATS_TIMEOUT_MS)
    }),
  ])
  clearTimeout(timer)
  for (const s of stats ?? []) {
    jobs.set({ kind: s.kind, status: s.status }, s.count)
    if (s.oldestSeconds !== null) jobAge.set({ kind: s.kind, status: s.status }, s.oldestSeconds)
  }
}

/** metricsText renders every metric in the Prometheus text format. */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  await refreshCatalogGauges()
  return { contentType: registry.contentType, body: await registry.metrics() }
}
