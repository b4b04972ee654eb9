import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type Credentials, parseCredentials } from '../../auth/credentials.ts'
import { isRepositoryName } from '../../../formats/oci/digest.ts'
import { REGISTRY_REALM, resolveRepository } from './auth.ts'
import type { RegistryDeps } from './context.ts'
import { OciError } from './errors.ts'
import { sealCredential, TOKEN_TTL_SECONDS } from './token.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The request is for the token endpoint, whose 401s challenge with Basic. */
    ociTokenEndpoint: boolean
  }
}

/** The challenge of the token endpoint's own 401s: it takes Basic credentials. */
export const TOKEN_ENDPOINT_CHALLENGE = `Basic realm="${REGISTRY_REALM}"`

/**
 * The token endpoint: `GET /v2/token?scope=repository:<name>:pull&service=…` with Basic credentials (skopeo,
 * docker) and `POST /v2/token` with a form password grant (containerd: `grant_type=password&username=license&
 * password=KEY&scope=…`). Both answer `{token, access_token, expires_in, issued_at}`. Credentials are checked
 * here (a bad license key is a 401, so `docker login` fails); no credentials get an anonymous token, good for
 * OPEN images. Only `pull` is granted, on the repositories of the scopes that name the token's account (the
 * first scope's, else the default account). Other actions are left out; the registry is pull-only.
 * see: https://distribution.github.io/distribution/spec/auth/token/ · ../shared/spec/clients.md §4, §7
 */
export function tokenRoutes(fastify: FastifyInstance, deps: RegistryDeps): void {
  fastify.decorateRequest('ociTokenEndpoint', false)

  fastify.get('/token', async (request: FastifyRequest<{ Querystring: Record<string, unknown> }>, reply) => {
    request.ociTokenEndpoint = true
    const credentials = parseCredentials({ authorization: request.headers.authorization })
    return issue(deps, reply, credentials, scopesOf(request.query.scope))
  })

  fastify.post('/token', async (request, reply) => {
    request.ociTokenEndpoint = true
    const form = request.body instanceof URLSearchParams ? request.body : null
    if (!form) throw new OciError('UNSUPPORTED', 'send a form (application/x-www-form-urlencoded)', 400)
    if (form.get('grant_type') !== 'password') {
      throw new OciError('UNSUPPORTED', 'only the password grant is supported', 400, {
        grant_type: form.get('grant_type'),
      })
    }
    const username = form.get('username') ?? ''
    const basic = `Basic ${Buffer.from(`${username}:${form.get('password') ?? ''}`).toString('base64')}`
    const credentials = parseCredentials({ authorization: username === '' ? undefined : basic })
    return issue(deps, reply, credentials, scopesOf(form.getAll('scope')))
  })
}

/** scopesOf reads `repository:<name>:<actions>` scopes (repeated, or space-separated) into names granting pull. */
export function scopesOf(value: unknown): string[] {
  const values = Array.isArray(value) ? value : [value]
  const names: string[] = []
  for (const v of values) {
    if (typeof v !== 'string') continue
    for (const scope of v.split(' ')) {
      const m = /^repository(?:\([a-z0-9]+\))?:(.+):([a-z,*]+)$/.exec(scope)
      if (!m || !isRepositoryName(m[1]) || !m[2].split(',').some((a) => a === 'pull' || a === '*')) continue
      if (!names.includes(m[1])) names.push(m[1])
    }
  }
  return names
}

async function issue(deps: RegistryDeps, reply: FastifyReply, credentials: Credentials, names: string[]) {
  const model = deps.readModel
  const repositories = await Promise.all(
    names.map(async (name) => ({ name, ...(await resolveRepository(model, name)) })),
  )
  const account = repositories[0]?.account ?? (await model.defaultAccount())
  // Resolving checks the credentials (401/403 for bad ones); the token holds the credential, not the principal.
  await model.principal(account, credentials, { realm: REGISTRY_REALM, challenge: 'Basic' })
  const issuedAt = Math.floor(Date.now() / 1000)
  const token = deps.tokens.issue({
    accountId: account.id,
    credential: sealCredential(credentials),
    repositories: repositories.filter((r) => r.account.id === account.id).map((r) => r.name),
    issuedAt,
    expiresAt: issuedAt + TOKEN_TTL_SECONDS,
  })
  return reply
    .code(200)
    .header('Cache-Control', 'no-store')
    .send({
      token,
      access_token: token,
      expires_in: TOKEN_TTL_SECONDS,
      issued_at: new Date(issuedAt * 1000).toISOString(),
    })
}
