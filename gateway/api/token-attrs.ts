import type { AttrSpecs } from './jsonapi.ts'

/** Attributes accepted when a token is created (all optional). */
export const tokenAttrs: AttrSpecs = {
  name: { kind: 'string', nullable: true, max: 255 },
  expiry: { kind: 'timestamp', nullable: true },
  permissions: { kind: 'string[]', nullable: true },
}
