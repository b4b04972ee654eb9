import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../config/load.ts'
import { envBindings } from '../../config/schema.ts'

const dir = mkdtempSync(join(tmpdir(), 'pkgway-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let files = 0
function jsonFile(content: unknown): string {
  const path = join(dir, `config-${++files}.json`)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

/** configError returns the ConfigError that loading throws, failing the test when it does not throw one. */
function configError(opts: Parameters<typeof loadConfig>[0]): ConfigError {
  try {
    loadConfig(opts)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error('expected loadConfig to throw')
}

describe('loadConfig', () => {
  describe('defaults', () => {
    it('runs embedded with no settings: SQLite and blobs under ./data, port 8080', () => {
      const config = loadConfig({ env: {} })
      expect(config).toEqual({
        host: '0.0.0.0',
        port: 8080,
        trustProxy: false,
        allowedHosts: ['localhost', '127.0.0.1', '[::1]'],
        dataDir: './data',
        databaseUrl: 'sqlite:data/pkgway.db',
        storage: {
          kind: 'filesystem',
          root: 'data/blobs',
          presignTtl: 900,
          uploadTtl: 900,
          maxUploadSize: 5368709120,
          uploadIdleTimeoutMs: 60000,
          delivery: 'redirect',
        },
        logLevel: 'info',
        workers: { inProcess: true, concurrency: 2, pollIntervalMs: 500, leaseMs: 10000 },
        http: { requestTimeoutMs: 3600000, headersTimeoutMs: 30000 },
        authThrottle: { maxFailures: 20, windowSeconds: 60 },
        metrics: { host: '127.0.0.1' },
        pypi: { passthrough: 'redirect', upstream: 'https://pypi.org/simple/', upstreamTimeoutMs: 15000 },
      })
      expect(Object.isFrozen(config)).toBe(true)
    })

    it('puts the SQLite file and the blob root under dataDir unless they are set', () => {
      const moved = loadConfig({ env: { PKGWAY_DATA_DIR: '/srv/pkgway' } })
      expect(moved.databaseUrl).toBe('sqlite:/srv/pkgway/pkgway.db')
      expect(moved.storage.root).toBe('/srv/pkgway/blobs')
      const explicit = loadConfig({
        env: { PKGWAY_DATA_DIR: '/srv/pkgway', PKGWAY_DATABASE_URL: 'sqlite:/db/c.db', PKGWAY_STORAGE_ROOT: '/b' },
      })
      expect(explicit.databaseUrl).toBe('sqlite:/db/c.db')
      expect(explicit.storage.root).toBe('/b')
    })

    it('does not read process.env when an env is given', () => {
      process.env.PKGWAY_HOST = 'from-process-env'
      try {
        expect(loadConfig({ env: {} }).host).toBe('0.0.0.0')
      } finally {
        delete process.env.PKGWAY_HOST
      }
    })
  })

  describe('environment variables', () => {
    it('reads every PKGWAY_* variable into its key, parsing numbers and booleans', () => {
      const config = loadConfig({
        env: {
          PKGWAY_HOST: '127.0.0.1',
          PORT: '9000',
          PKGWAY_PUBLIC_URL: 'https://dist.example.com',
          PKGWAY_TRUST_PROXY: 'yes',
          PKGWAY_ALLOWED_HOSTS: 'dist.example.com, dist.example.com:8443',
          PKGWAY_DATABASE_URL: 'postgres://u:p@db:5432/pkgway',
          PKGWAY_DATA_DIR: '/var/lib/pkgway',
          PKGWAY_STORAGE: 's3',
          PKGWAY_STORAGE_DELIVERY: 'proxy',
          PKGWAY_PRESIGN_TTL: '60',
          PKGWAY_UPLOAD_TTL: '120',
          PKGWAY_MAX_UPLOAD_SIZE: '1048576',
          PKGWAY_UPLOAD_IDLE_TIMEOUT_MS: '5000',
          PKGWAY_REQUEST_TIMEOUT_MS: '600000',
          PKGWAY_HEADERS_TIMEOUT_MS: '10000',
          PKGWAY_AUTH_MAX_FAILURES: '5',
          PKGWAY_AUTH_FAILURE_WINDOW: '30',
          PKGWAY_S3_BUCKET: 'artifacts',
          PKGWAY_S3_REGION: 'eu-west-1',
          PKGWAY_S3_ENDPOINT: 'http://minio:9000',
          PKGWAY_S3_PUBLIC_ENDPOINT: 'https://s3.example.com',
          PKGWAY_S3_FORCE_PATH_STYLE: 'true',
          PKGWAY_S3_ACCESS_KEY_ID: 'AKIA',
          PKGWAY_S3_SECRET_ACCESS_KEY: 'secret',
          PKGWAY_S3_PREFIX: 'pkgway/',
          PKGWAY_SIGNING_SECRET: 's'.repeat(32),
          PKGWAY_LOG_LEVEL: 'debug',
          PKGWAY_BOOTSTRAP_ADMIN_TOKEN: 'admin-bootstrap-token-0123456789v3',
          PKGWAY_WORKERS_IN_PROCESS: 'off',
          PKGWAY_WORKERS_CONCURRENCY: '4',
          PKGWAY_WORKERS_POLL_INTERVAL_MS: '250',
          PKGWAY_WORKERS_LEASE_MS: '20000',
          PKGWAY_METRICS_PORT: '9464',
          PKGWAY_METRICS_HOST: '0.0.0.0',
          PKGWAY_PYPI_PASSTHROUGH: 'proxy',
          PKGWAY_PYPI_UPSTREAM: 'https://mirror.example.com/simple/',
          PKGWAY_PYPI_UPSTREAM_TIMEOUT_MS: '5000',
        },
      })
      expect(config).toEqual({
        host: '127.0.0.1',
        port: 9000,
        publicUrl: 'https://dist.example.com',
        trustProxy: true,
        allowedHosts: ['dist.example.com', 'dist.example.com:8443'],
        databaseUrl: 'postgres://u:p@db:5432/pkgway',
        dataDir: '/var/lib/pkgway',
        storage: {
          kind: 's3',
          root: '/var/lib/pkgway/blobs',
          delivery: 'proxy',
          presignTtl: 60,
          uploadTtl: 120,
          maxUploadSize: 1048576,
          uploadIdleTimeoutMs: 5000,
          s3: {
            bucket: 'artifacts',
            region: 'eu-west-1',
            endpoint: 'http://minio:9000',
            publicEndpoint: 'https://s3.example.com',
            forcePathStyle: true,
            accessKeyId: 'AKIA',
            secretAccessKey: 'secret',
            prefix: 'pkgway/',
          },
        },
        signingSecret: 's'.repeat(32),
        logLevel: 'debug',
        bootstrapAdminToken: 'admin-bootstrap-token-0123456789v3',
        workers: { inProcess: false, concurrency: 4, pollIntervalMs: 250, leaseMs: 20000 },
        http: { requestTimeoutMs: 600000, headersTimeoutMs: 10000 },
        authThrottle: { maxFailures: 5, windowSeconds: 30 },
        metrics: { port: 9464, host: '0.0.0.0' },
        pypi: { passthrough: 'proxy', upstream: 'https://mirror.example.com/simple/', upstreamTimeoutMs: 5000 },
      })
    })

    it('binds every variable it documents to a distinct key path', () => {
      const names = envBindings.map(([name]) => name)
      expect(new Set(names).size).toBe(names.length)
      for (const name of names) expect(name).toMatch(/^(PKGWAY_[A-Z0-9_]+|PORT)$/)
    })

    it('lets PKGWAY_PORT win over PORT', () => {
      expect(loadConfig({ env: { PORT: '3000' } }).port).toBe(3000)
      expect(loadConfig({ env: { PORT: '3000', PKGWAY_PORT: '4000' } }).port).toBe(4000)
    })

    it('ignores empty variables', () => {
      expect(loadConfig({ env: { PORT: '', PKGWAY_LOG_LEVEL: '' } })).toMatchObject({ port: 8080, logLevel: 'info' })
    })
  })

  describe('merge order', () => {
    it('applies defaults < JSON file < environment < overrides, merging nested objects', () => {
      const file = jsonFile({
        port: 7000,
        host: '127.0.0.1',
        logLevel: 'warn',
        storage: { presignTtl: 300, uploadTtl: 600 },
        workers: { concurrency: 8 },
      })
      const config = loadConfig({
        file,
        env: { PORT: '7100', PKGWAY_UPLOAD_TTL: '900', PKGWAY_LOG_LEVEL: 'error' },
        overrides: { logLevel: 'silent' },
      })
      expect(config.host).toBe('127.0.0.1') // file over default
      expect(config.port).toBe(7100) // env over file
      expect(config.storage).toMatchObject({ kind: 'filesystem', presignTtl: 300, uploadTtl: 900 })
      expect(config.workers).toEqual({ inProcess: true, concurrency: 8, pollIntervalMs: 500, leaseMs: 10000 })
      expect(config.logLevel).toBe('silent') // overrides over env
    })

    it('reads the file named by PKGWAY_CONFIG, and an explicit file (--config) wins over it', () => {
      const fromEnv = jsonFile({ port: 1111 })
      const explicit = jsonFile({ port: 2222 })
      expect(loadConfig({ env: { PKGWAY_CONFIG: fromEnv } }).port).toBe(1111)
      expect(loadConfig({ env: { PKGWAY_CONFIG: fromEnv }, file: explicit }).port).toBe(2222)
    })
  })

  describe('invalid configuration', () => {
    it('throws one ConfigError that names every bad key and why', () => {
      const file = jsonFile({ port: 70000, storage: { delivery: 'teleport' }, pypi: { upstream: 'not a url' } })
      const err = configError({
        file,
        env: {
          PKGWAY_STORAGE: 'nope',
          PKGWAY_TRUST_PROXY: 'maybe',
          PKGWAY_WORKERS_CONCURRENCY: 'two',
          PKGWAY_LOG_LEVEL: 'loud',
          PKGWAY_SIGNING_SECRET: 'short',
          PKGWAY_DATABASE_URL: 'mysql://db/pkgway',
        },
      })
      const byKey = (needle: string) => err.problems.filter((p) => p.startsWith(needle))
      expect(byKey('port:')).toHaveLength(1)
      expect(byKey('PKGWAY_STORAGE (storage.kind): ')).toHaveLength(1)
      expect(byKey('storage.delivery:')).toHaveLength(1)
      expect(byKey('pypi.upstream:')).toHaveLength(1)
      expect(byKey('PKGWAY_TRUST_PROXY (trustProxy): must be true or false (got "maybe")')).toHaveLength(1)
      expect(
        byKey('PKGWAY_WORKERS_CONCURRENCY (workers.concurrency): must be a whole number (got "two")'),
      ).toHaveLength(1)
      expect(byKey('PKGWAY_LOG_LEVEL (logLevel): ')).toHaveLength(1)
      expect(byKey('PKGWAY_SIGNING_SECRET (signingSecret): must be at least 32 characters')).toHaveLength(1)
      expect(byKey('PKGWAY_DATABASE_URL (databaseUrl): must start with sqlite: or postgres://')).toHaveLength(1)
      expect(err.problems).toHaveLength(9)
      expect(err.message).toBe(`invalid configuration: ${err.problems.join('; ')}`)
      expect(err.message).not.toContain('\n')
      // Secret values are never echoed back.
      expect(err.message).not.toContain('short')
    })

    it('names both keys for PORT=abc and PKGWAY_STORAGE=nope', () => {
      const err = configError({ env: { PORT: 'abc', PKGWAY_STORAGE: 'nope' } })
      expect(err.problems).toEqual([
        'PORT (port): must be a whole number (got "abc")',
        'PKGWAY_STORAGE (storage.kind): Invalid option: expected one of "filesystem"|"s3"',
      ])
    })

    it('reports unknown keys in the JSON file instead of ignoring them', () => {
      const err = configError({ env: {}, file: jsonFile({ prot: 8080, storage: { rooot: '/x' } }) })
      expect(err.problems).toEqual(['storage.rooot: unknown setting', 'prot: unknown setting'])
    })

    it('requires storage.s3 with a bucket when storage.kind is s3', () => {
      expect(configError({ env: { PKGWAY_STORAGE: 's3' } }).problems).toEqual([
        'storage.s3: storage.s3 (bucket at least) is required when storage.kind is s3',
      ])
      expect(configError({ env: { PKGWAY_STORAGE: 's3', PKGWAY_S3_REGION: 'eu-west-1' } }).problems).toEqual([
        'storage.s3.bucket: Invalid input: expected string, received undefined',
      ])
    })

    it.each([
      ['a missing file', join(tmpdir(), 'pkgway-no-such-config.json'), /: ENOENT$/],
      ['a file that is not JSON', '{"port": 80,', /: not valid JSON \(/],
      ['a JSON array', '[1, 2]', /: must hold a JSON object$/],
    ])('reports %s as one problem', (_name, fileOrText, reason) => {
      const file = fileOrText.startsWith('/') ? fileOrText : jsonFile(fileOrText)
      const err = configError({ env: {}, file })
      expect(err.problems).toHaveLength(1)
      expect(err.problems[0]).toMatch(new RegExp(`^config file ${file}`))
      expect(err.problems[0]).toMatch(reason)
    })
  })
})
