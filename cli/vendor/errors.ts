/**
 * Errors of the vendor commands. Each becomes one line (or one line per JSON:API error) on stderr, prefixed
 * `pkgway: `, and an exit code: 1 for errors, 2 for usage. A stack trace is never shown.
 */

export const EXIT_ERROR = 1
export const EXIT_USAGE = 2

/** CliError is a failure with a message fit for the user. */
export class CliError extends Error {
  get exitCode(): number {
    return EXIT_ERROR
  }

  constructor(message: string) {
    super(message)
    this.name = 'CliError'
  }

  /** lines are what is printed, each after `pkgway: `. */
  lines(): string[] {
    return [this.message]
  }
}

/** UsageError is a command line that cannot work (a bad flag value, a missing setting): exit code 2. */
export class UsageError extends CliError {
  override get exitCode(): number {
    return EXIT_USAGE
  }

  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

/** LinesError is a failure told in several lines (each printed after `pkgway: `). */
export class LinesError extends CliError {
  constructor(
    private readonly text: string[],
    private readonly code = EXIT_ERROR,
  ) {
    super(text.join('; '))
    this.name = 'LinesError'
  }

  override get exitCode(): number {
    return this.code
  }

  override lines(): string[] {
    return this.text
  }
}

/** One entry of a JSON:API `errors[]`. */
export interface JsonApiError {
  title?: string
  detail?: string
  code?: string
  source?: { pointer?: string; parameter?: string; header?: string }
}

/** formatApiError renders `<title>: <detail> (<code> at <pointer>)`, leaving out what the server left out. */
export function formatApiError(e: JsonApiError): string {
  const where = e.source?.pointer ?? (e.source?.parameter ? `?${e.source.parameter}` : undefined) ?? e.source?.header
  const tail = [e.code, where ? `at ${where}` : undefined].filter(Boolean).join(' ')
  const text = [e.title, e.detail].filter((s) => typeof s === 'string' && s !== '').join(': ') || 'request failed'
  return tail ? `${text} (${tail})` : text
}

/** ApiError is a JSON:API error document answered by the server. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly errors: JsonApiError[],
    /** What was being done, e.g. the file being uploaded; prefixed to each line. */
    readonly context?: string,
  ) {
    super(errors.map(formatApiError).join('; '))
    this.name = 'ApiError'
  }

  hasCode(code: string): boolean {
    return this.errors.some((e) => e.code === code)
  }

  withContext(context: string): ApiError {
    return new ApiError(this.status, this.errors, context)
  }

  override lines(): string[] {
    const prefix = this.context ? `${this.context}: ` : ''
    return this.errors.map((e) => prefix + formatApiError(e))
  }
}

/** firstLine keeps the first line of a message (library errors sometimes carry more). */
export const firstLine = (text: string): string => text.split('\n')[0].trim()

/** networkMessage describes a failed connection in one line: "connect ECONNREFUSED 127.0.0.1:1". */
export function networkMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return networkMessage(err.errors[0])
  const e = err as (Error & { code?: unknown; cause?: unknown }) | undefined
  const message = typeof e?.message === 'string' && e.message !== '' ? firstLine(e.message) : ''
  const code = typeof e?.code === 'string' ? e.code : ''
  if (message && code && !message.includes(code)) return `${message} (${code})`
  if (message) return message
  if (e?.cause) return networkMessage(e.cause)
  return code || String(err)
}

/** explain turns any thrown value into the lines to print, and the exit code. */
export function explain(err: unknown): { lines: string[]; exitCode: number } {
  if (err instanceof CliError) return { lines: err.lines(), exitCode: err.exitCode }
  const message = err instanceof Error ? firstLine(err.message) : String(err)
  return { lines: [`unexpected error: ${message}`], exitCode: EXIT_ERROR }
}
