/**
 * A secure option's default value is a secret (a password the job uses when
 * nobody types one). It stays in the stored definition, where the job needs
 * it, but leaves the server only towards people who may change the job
 * anyway: readers get the definition without it, with `defaultHidden: true`
 * on the option so that a UI can say "a default is set".
 */
import type { JobDefinition, JobOption } from './definition.js';

export type VisibleOption = JobOption & { defaultHidden?: true };

export function hasSecureDefault(o: JobOption): boolean {
  return o.secure && o.defaultValue !== undefined;
}

/** The definition with every secure option's default removed (marked `defaultHidden`); unchanged when there is none. */
export function hideSecureDefaults(def: JobDefinition): JobDefinition & { options: VisibleOption[] } {
  if (!def.options.some(hasSecureDefault)) return def;
  return {
    ...def,
    options: def.options.map((o): VisibleOption => {
      if (!hasSecureDefault(o)) return o;
      const { defaultValue: _hidden, ...rest } = o;
      return { ...rest, defaultHidden: true };
    }),
  };
}
