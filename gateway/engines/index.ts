import type { FastifyPluginAsync } from 'fastify'
import type { EngineKey } from '../catalog/types.ts'
import { rawEngine } from './raw/routes.ts'
import { ociRegistry } from './oci/routes.ts'
import { pypiEngine } from './pypi/routes.ts'
import { tauriEngine } from './tauri/routes.ts'
import { npmEngine } from './npm/routes.ts'
import { rubygemsEngine } from './rubygems/routes.ts'

/**
 * An engine is an encapsulated Fastify plugin with its own routes, error format and authentication
 * challenge. Adding one is a new folder under engines/ plus one line in {@link engines}.
 */
export interface EngineModule {
  key: EngineKey
  /** Registered at `<scope>/engines/<key>` for both scopes, `/v1` and `/v1/accounts/:account`. */
  plugin: FastifyPluginAsync
}

export const engines: EngineModule[] = [
  { key: 'raw', plugin: rawEngine },
  { key: 'pypi', plugin: pypiEngine },
  { key: 'tauri', plugin: tauriEngine },
  { key: 'npm', plugin: npmEngine },
  { key: 'rubygems', plugin: rubygemsEngine },
]

/** An engine whose protocol fixes its path, mounted once at the gateway's root instead of under each `/v1` scope. */
export interface RootEngineModule {
  key: EngineKey
  /** Path prefix at the gateway's root (after any mount prefix). */
  prefix: string
  plugin: FastifyPluginAsync
}

/**
 * The OCI registry lives at `/v2` because every OCI client (docker, skopeo, containerd) requires that path; the
 * account is part of the repository name instead (`<account>/<package>`).
 */
export const rootEngines: RootEngineModule[] = [{ key: 'oci', prefix: '/v2', plugin: ociRegistry }]
