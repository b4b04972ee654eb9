import { join } from 'node:path'
import { z } from 'zod'

/**
 * The one description of pkgway's settings: every key, its type, its default and where it comes from.
 * Nothing outside config/ reads `process.env`; everything else receives a frozen {@link PkgwayConfig}.
 */

const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

const databaseUrl = z
  .string()
  .refine((v) => /^sqlite:/.test(v) || /^postgres(ql)?:\/\//.test(v), 'must start with sqlite: or postgres://')

const s3Schema = z.strictObject({
  bucket: z.string().min(1),
  region: z.string().min(1).default('us-east-1'),
  endpoint: z.string().url().optional(),
  /** Endpoint written into presigned URLs, when clients reach storage under another name than the gateway does. */
  publicEndpoint: z.string().url().optional(),
  forcePathStyle: z.boolean().default(false),
  accessKeyId: z.string().optional(),
  secretAccessKey: z.string().optional(),
  prefix: z.string().default(''),
})

const settings = z.strictObject({
  host: z.string().min(1).default('0.0.0.0'),
  port: z.number().int().min(0).max(65535).default(8080),
  /** Absolute base URL for generated links, e.g. https://dist.example.com. Links are relative when unset. */
  publicUrl: z
    .string()
    .url()
    .refine((v) => /^https?:\/\//.test(v), 'must be an http(s) URL')
    .optional(),
  trustProxy: z.boolean().default(false),
  /**
   * Hosts (`name` or `name:port`) whose `Host` header may name the gateway in the few absolute URLs that cannot be
   * relative (upload URLs for the keygen CLI) when publicUrl is unset. Every other link is relative then.
   */
  allowedHosts: z
    .array(z.string().regex(/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/i, 'must be a host name or host:port'))
    .default(['localhost', '127.0.0.1', '[::1]']),
  /** Catalog database; `sqlite:<dataDir>/pkgway.db` when unset. */
  databaseUrl: databaseUrl.optional(),
  /** Directory for generated state: the default SQLite file and blob root. */
  dataDir: z.string().min(1).default('./data'),
  storage: z
    .strictObject({
      kind: z.enum(['filesystem', 's3']).default('filesystem'),
      /** Blob directory of the filesystem store; `<dataDir>/blobs` when unset. */
      root: z.string().min(1).optional(),
      s3: s3Schema.optional(),
      /** Lifetime of presigned and gateway-signed download URLs, in seconds. */
      presignTtl: z.number().int().min(1).max(604800).default(900),
      /** Lifetime of upload URLs, in seconds: short, since an upload starts right after the artifact is created. */
      uploadTtl: z.number().int().min(60).max(604800).default(900),
      /** Most bytes a PUT through the gateway may carry when the artifact declared no size (5 GiB at most). */
      maxUploadSize: z
        .number()
        .int()
        .min(0)
        .max(5 * 1024 ** 3)
        .default(5 * 1024 ** 3),
      /** An upload through the gateway that sends nothing for this long is ended with 408. */
      uploadIdleTimeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
      /** `redirect`: clients get 303/307 to storage. `proxy`: the gateway streams the bytes itself. */
      delivery: z.enum(['redirect', 'proxy']).default('redirect'),
    })
    .default({
      kind: 'filesystem',
      presignTtl: 900,
      uploadTtl: 900,
      maxUploadSize: 5 * 1024 ** 3,
      uploadIdleTimeoutMs: 60_000,
      delivery: 'redirect',
    })
    .refine((s) => s.kind !== 's3' || s.s3 !== undefined, {
      message: 'storage.s3 (bucket at least) is required when storage.kind is s3',
      path: ['s3'],
    }),
  /** HMAC secret for gateway-signed blob URLs; when unset, the key kept in the catalog (catalog/signing-keys.ts). */
  signingSecret: z.string().min(32, 'must be at least 32 characters').optional(),
  logLevel: logLevel.default('info'),
  /** Admin token installed at start (idempotent), for automation. */
  bootstrapAdminToken: z.string().min(16).optional(),
  workers: z
    .strictObject({
      /** Run job workers inside `pkgway serve`. */
      inProcess: z.boolean().default(true),
      concurrency: z.number().int().min(1).max(64).default(2),
      pollIntervalMs: z.number().int().min(10).max(60000).default(500),
      /** Job lease, renewed by a heartbeat every third of it; a killed worker's job is retried this long after. */
      leaseMs: z.number().int().min(1000).max(600000).default(10000),
    })
    .default({ inProcess: true, concurrency: 2, pollIntervalMs: 500, leaseMs: 10000 }),
  http: z
    .strictObject({
      /** Longest time a whole request (an upload's body included) may take; 0 for no limit. */
      requestTimeoutMs: z.number().int().min(0).max(86_400_000).default(3_600_000),
      /** Longest time the request headers may take to arrive. */
      headersTimeoutMs: z.number().int().min(1000).max(600_000).default(30_000),
    })
    .default({ requestTimeoutMs: 3_600_000, headersTimeoutMs: 30_000 })
    .refine((h) => h.requestTimeoutMs === 0 || h.headersTimeoutMs <= h.requestTimeoutMs, {
      message: 'headersTimeoutMs must not be longer than requestTimeoutMs',
      path: ['headersTimeoutMs'],
    }),
  authThrottle: z
    .strictObject({
      /** Failed authentications a client address (or a credential prefix) may have per window before 429. */
      maxFailures: z.number().int().min(1).max(1_000_000).default(20),
      windowSeconds: z.number().int().min(1).max(86_400).default(60),
    })
    .default({ maxFailures: 20, windowSeconds: 60 }),
  metrics: z
    .strictObject({
      /** Port of the Prometheus listener (`GET /metrics`); no listener when unset, a free one for 0. */
      port: z.number().int().min(0).max(65535).optional(),
      /** Address of the metrics listener; loopback unless an operator opens it on purpose. */
      host: z.string().min(1).default('127.0.0.1'),
    })
    .default({ host: '127.0.0.1' }),
  pypi: z
    .strictObject({
      passthrough: z.enum(['redirect', 'proxy', 'off']).default('redirect'),
      upstream: z.string().url().default('https://pypi.org/simple/'),
      upstreamTimeoutMs: z.number().int().min(100).max(120000).default(15000),
    })
    .default({ passthrough: 'redirect', upstream: 'https://pypi.org/simple/', upstreamTimeoutMs: 15000 }),
})

/** Unknown keys are errors (strict objects), so a misspelt setting is reported instead of silently ignored. */
export const configSchema = settings.transform(({ databaseUrl, storage, ...rest }) => ({
  ...rest,
  databaseUrl: databaseUrl ?? `sqlite:${join(rest.dataDir, 'pkgway.db')}`,
  storage: { ...storage, root: storage.root ?? join(rest.dataDir, 'blobs') },
}))

export type PkgwayConfig = z.infer<typeof configSchema>
export type ConfigInput = z.input<typeof configSchema>

/** How each environment variable maps onto a config key path, and how its text is parsed. */
export type EnvKind = 'string' | 'int' | 'bool' | 'list'
export const envBindings: ReadonlyArray<readonly [string, readonly string[], EnvKind]> = [
  ['PKGWAY_HOST', ['host'], 'string'],
  ['PORT', ['port'], 'int'],
  ['PKGWAY_PORT', ['port'], 'int'],
  ['PKGWAY_PUBLIC_URL', ['publicUrl'], 'string'],
  ['PKGWAY_TRUST_PROXY', ['trustProxy'], 'bool'],
  ['PKGWAY_ALLOWED_HOSTS', ['allowedHosts'], 'list'],
  ['PKGWAY_DATABASE_URL', ['databaseUrl'], 'string'],
  ['PKGWAY_DATA_DIR', ['dataDir'], 'string'],
  ['PKGWAY_STORAGE', ['storage', 'kind'], 'string'],
  ['PKGWAY_STORAGE_ROOT', ['storage', 'root'], 'string'],
  ['PKGWAY_STORAGE_DELIVERY', ['storage', 'delivery'], 'string'],
  ['PKGWAY_PRESIGN_TTL', ['storage', 'presignTtl'], 'int'],
  ['PKGWAY_UPLOAD_TTL', ['storage', 'uploadTtl'], 'int'],
  ['PKGWAY_MAX_UPLOAD_SIZE', ['storage', 'maxUploadSize'], 'int'],
  ['PKGWAY_UPLOAD_IDLE_TIMEOUT_MS', ['storage', 'uploadIdleTimeoutMs'], 'int'],
  ['PKGWAY_S3_BUCKET', ['storage', 's3', 'bucket'], 'string'],
  ['PKGWAY_S3_REGION', ['storage', 's3', 'region'], 'string'],
  ['PKGWAY_S3_ENDPOINT', ['storage', 's3', 'endpoint'], 'string'],
  ['PKGWAY_S3_PUBLIC_ENDPOINT', ['storage', 's3', 'publicEndpoint'], 'string'],
  ['PKGWAY_S3_FORCE_PATH_STYLE', ['storage', 's3', 'forcePathStyle'], 'bool'],
  ['PKGWAY_S3_ACCESS_KEY_ID', ['storage', 's3', 'accessKeyId'], 'string'],
  ['PKGWAY_S3_SECRET_ACCESS_KEY', ['storage', 's3', 'secretAccessKey'], 'string'],
  ['PKGWAY_S3_PREFIX', ['storage', 's3', 'prefix'], 'string'],
  ['PKGWAY_SIGNING_SECRET', ['signingSecret'], 'string'],
  ['PKGWAY_LOG_LEVEL', ['logLevel'], 'string'],
  ['PKGWAY_BOOTSTRAP_ADMIN_TOKEN', ['bootstrapAdminToken'], 'string'],
  ['PKGWAY_WORKERS_IN_PROCESS', ['workers', 'inProcess'], 'bool'],
  ['PKGWAY_WORKERS_CONCURRENCY', ['workers', 'concurrency'], 'int'],
  ['PKGWAY_WORKERS_POLL_INTERVAL_MS', ['workers', 'pollIntervalMs'], 'int'],
  ['PKGWAY_REQUEST_TIMEOUT_MS', ['http', 'requestTimeoutMs'], 'int'],
  ['PKGWAY_HEADERS_TIMEOUT_MS', ['http', 'headersTimeoutMs'], 'int'],
  ['PKGWAY_AUTH_MAX_FAILURES', ['authThrottle', 'maxFailures'], 'int'],
  ['PKGWAY_AUTH_FAILURE_WINDOW', ['authThrottle', 'windowSeconds'], 'int'],
  ['PKGWAY_WORKERS_LEASE_MS', ['workers', 'leaseMs'], 'int'],
  ['PKGWAY_METRICS_PORT', ['metrics', 'port'], 'int'],
  ['PKGWAY_METRICS_HOST', ['metrics', 'host'], 'string'],
  ['PKGWAY_PYPI_PASSTHROUGH', ['pypi', 'passthrough'], 'string'],
  ['PKGWAY_PYPI_UPSTREAM', ['pypi', 'upstream'], 'string'],
  ['PKGWAY_PYPI_UPSTREAM_TIMEOUT_MS', ['pypi', 'upstreamTimeoutMs'], 'int'],
]
