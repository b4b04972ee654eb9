import { createHash } from 'node:crypto'
import { crc32, deflateRawSync } from 'node:zlib'

/** coreMetadata is a minimal METADATA file. */
export function coreMetadata(name: string, version: string, extra: Record<string, string | string[]> = {}): string {
  const lines = ['Metadata-Version: 2.1', `Name: ${name}`, `Version: ${version}`, 'Summary: test package']
  for (const [k, v] of Object.entries(extra)) for (const value of [v].flat()) lines.push(`${k}: ${value}`)
  return `${lines.join('\n')}\n`
}

/** A real, installable pure-Python wheel, built in memory (zip with deflate and a valid RECORD). */

export interface WheelSpec {
  name: string
  version: string
  requiresPython?: string
  requiresDist?: string[]
  /** Replaces the generated METADATA text. */
  metadata?: string
  /** Appends this many bytes of `a` to METADATA (a zip bomb when large: it compresses to little). */
  metadataPadding?: number
  /** Extra files, path → text. */
  files?: Record<string, string>
}

export interface BuiltWheel {
  filename: string
  bytes: Buffer
  /** The METADATA text inside the wheel. */
  metadata: string
  sha256: string
  /** Import name of the module the wheel installs. */
  module: string
}

const DOS_DATE = ((2024 - 1980) << 9) | (1 << 5) | 1

/** zip writes a deflated zip archive of the given files, in order. */
export function zip(files: ReadonlyArray<readonly [string, Buffer]>): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const [name, data] of files) {
    const nameBytes = Buffer.from(name, 'utf8')
    const packed = deflateRawSync(data)
    const crc = crc32(data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(0x0800, 6) // UTF-8 names
    local.writeUInt16LE(8, 8)
    local.writeUInt16LE(0, 10)
    local.writeUInt16LE(DOS_DATE, 12)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(packed.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(nameBytes.length, 26)
    local.writeUInt16LE(0, 28)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(0x0314, 4) // made by unix, 2.0
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(0x0800, 8)
    central.writeUInt16LE(8, 10)
    central.writeUInt16LE(0, 12)
    central.writeUInt16LE(DOS_DATE, 14)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(packed.length, 20)
    central.writeUInt32LE(data.length, 24)
    central.writeUInt16LE(nameBytes.length, 28)
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38)
    central.writeUInt32LE(offset, 42)
    locals.push(local, nameBytes, packed)
    centrals.push(central, nameBytes)
    offset += local.length + nameBytes.length + packed.length
  }
  const cd = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(files.length, 8)
  end.writeUInt16LE(files.length, 10)
  end.writeUInt32LE(cd.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, cd, end])
}

const recordHash = (data: Buffer) => `sha256=${createHash('sha256').update(data).digest('base64url')},${data.length}`

/** buildWheel makes `<dist>-<version>-py3-none-any.whl` installing module `<name>` with `__version__`. */
export function buildWheel(spec: WheelSpec): BuiltWheel {
  const module = spec.name.replace(/[-_.]+/g, '_').toLowerCase()
  const dist = spec.name.replace(/[-_.]+/g, '_')
  const distInfo = `${dist}-${spec.version}.dist-info`
  let metadata =
    spec.metadata ??
    coreMetadata(spec.name, spec.version, {
      ...(spec.requiresPython ? { 'Requires-Python': spec.requiresPython } : {}),
      ...(spec.requiresDist ? { 'Requires-Dist': spec.requiresDist } : {}),
    })
  if (spec.metadataPadding) metadata += `\n${'a'.repeat(spec.metadataPadding)}\n`
  const files: Array<[string, Buffer]> = [
    [`${module}/__init__.py`, Buffer.from(`__version__ = "${spec.version}"\n`)],
    ...Object.entries(spec.files ?? {}).map(([path, text]): [string, Buffer] => [path, Buffer.from(text)]),
    [`${distInfo}/METADATA`, Buffer.from(metadata)],
    [
      `${distInfo}/WHEEL`,
      Buffer.from('Wheel-Version: 1.0\nGenerator: pkgway-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n'),
    ],
    [`${distInfo}/top_level.txt`, Buffer.from(`${module}\n`)],
  ]
  const record = `${files.map(([p, d]) => `${p},${recordHash(d)}\n`).join('')}${distInfo}/RECORD,,\n`
  files.push([`${distInfo}/RECORD`, Buffer.from(record)])
  const bytes = zip(files)
  return {
    filename: `${dist}-${spec.version}-py3-none-any.whl`,
    bytes,
    metadata,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    module,
  }
}
