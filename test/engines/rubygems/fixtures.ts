import { MANIFEST_TYPES } from '../../../formats/manifest-types.ts'
import { gemInfoOf, readGemspec } from '../../../formats/rubygems/gemspec.ts'
import type { Executor } from '../../../gateway/catalog/accounts.ts'
import type { AccountRow, ArtifactRow, ReleaseRow } from '../../../gateway/catalog/types.ts'
import { seedArtifact, seedManifest } from '../../helpers/seed.ts'

export interface GemYaml {
  name: string
  /** As RubyGems writes it (`1.0.0.pre.beta.1`). */
  version: string
  platform?: string
  /** name → [type, requirement parts]. */
  dependencies?: Record<string, ['runtime' | 'development', string[]]>
  requiredRubyVersion?: string[]
}

const requirement = (indent: string, parts: string[]) =>
  [
    `${indent}requirements:`,
    ...parts.flatMap((p) => {
      const [op, v] = p.split(' ')
      return [`${indent}- - "${op}"`, `${indent}  - !ruby/object:Gem::Version`, `${indent}    version: '${v}'`]
    }),
  ].join('\n')

/** gemspecYaml writes a gemspec the way `gem build` stores it in metadata.gz. */
export function gemspecYaml(spec: GemYaml): string {
  const deps = Object.entries(spec.dependencies ?? {}).map(([name, [type, parts]]) =>
    [
      '- !ruby/object:Gem::Dependency',
      `  name: ${name}`,
      '  requirement: !ruby/object:Gem::Requirement',
      requirement('    ', parts),
      `  type: :${type}`,
      '  prerelease: false',
    ].join('\n'),
  )
  return [
    '--- !ruby/object:Gem::Specification',
    `name: ${spec.name}`,
    'version: !ruby/object:Gem::Version',
    `  version: ${spec.version}`,
    `platform: ${spec.platform ?? 'ruby'}`,
    'authors:',
    '- lab',
    'date: 2024-10-22 00:00:00.000000000 Z',
    deps.length ? `dependencies:\n${deps.join('\n')}` : 'dependencies: []',
    'licenses:',
    '- MIT',
    'metadata: {}',
    'required_ruby_version: !ruby/object:Gem::Requirement',
    requirement('  ', spec.requiredRubyVersion ?? ['>= 0']),
    'required_rubygems_version: !ruby/object:Gem::Requirement',
    requirement('  ', ['>= 0']),
    'rubygems_version: 3.3.15',
    'specification_version: 4',
    'summary: tiny test gem',
    '',
  ].join('\n')
}

/** seedGem stores a `.gem` artifact with the two manifests the upload worker writes for it. */
export async function seedGem(
  db: Executor,
  account: Pick<AccountRow, 'id'>,
  input: { release: ReleaseRow; filename: string; spec: GemYaml; sha256?: string | null; createdAt: string },
): Promise<ArtifactRow> {
  const artifact = await seedArtifact(db, account, {
    release: input.release,
    filename: input.filename,
    sha256: input.sha256 ?? null,
    createdAt: input.createdAt,
  })
  const yaml = gemspecYaml(input.spec)
  await seedManifest(db, account, { artifact, contentType: MANIFEST_TYPES.gemspec, content: yaml })
  const info = JSON.stringify(gemInfoOf(readGemspec(yaml)))
  await seedManifest(db, account, { artifact, contentType: MANIFEST_TYPES.gemInfo, content: info })
  return artifact
}
