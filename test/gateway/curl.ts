import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

export interface CurlResult {
  status: number
  /** Headers of the final response, names in lower case. */
  headers: Record<string, string>
  body: Buffer
}

/**
 * curl runs the real curl binary (asynchronously, so a server in this process keeps answering) and returns
 * the final response. Pass request options as curl arguments, e.g. `['-T', file, url]`.
 */
export async function curl(args: string[]): Promise<CurlResult> {
  const dir = await mkdtemp(join(tmpdir(), 'pkgway-curl-'))
  try {
    const headerFile = join(dir, 'headers')
    const bodyFile = join(dir, 'body')
    const { stdout } = await execFileAsync(
      'curl',
      ['-sS', '--max-time', '20', '-D', headerFile, '-o', bodyFile, '-w', '%{http_code}', ...args],
      { encoding: 'utf8' },
    )
    const blocks = (await readFile(headerFile, 'utf8')).split(/\r\n\r\n/).filter((b) => b.trim() !== '')
    const headers: Record<string, string> = {}
    for (const line of (blocks.at(-1) ?? '').split('\r\n').slice(1)) {
      const at = line.indexOf(':')
      if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim()
    }
    const body = await readFile(bodyFile).catch(() => Buffer.alloc(0))
    return { status: Number(stdout), headers, body }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
