/**
 * How option values reach a job's steps: `${option.NAME}` in command text and
 * script arguments, and `TANDEM_OPTION_NAME` environment variables.
 */

/** Option names as Rundeck allows them. */
export const OPTION_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

const REFERENCE = /\$\{option\.([A-Za-z0-9_][A-Za-z0-9_.-]*)\}/g;

/** Replaces `${option.NAME}` by the option's value; an option without a value gives the empty string, as in Rundeck. */
export function expandOptions(text: string, values: Record<string, string>): string {
  return text.replace(REFERENCE, (_whole, name: string) => (Object.hasOwn(values, name) ? values[name]! : ''));
}

const SCRIPT_TOKEN = /@option\.([A-Za-z0-9_][A-Za-z0-9_.-]*)@/g;

/**
 * Rundeck's tokens for inline script bodies, `@option.NAME@` (Rundeck expands
 * `${option.NAME}` in commands and arguments, `@option.NAME@` in script text).
 * The value becomes part of the script's code, exactly as in Rundeck; scripts
 * that must treat values as data read `$TANDEM_OPTION_NAME` instead.
 */
export function expandScriptTokens(text: string, values: Record<string, string>): string {
  return text.replace(SCRIPT_TOKEN, (_whole, name: string) => (Object.hasOwn(values, name) ? values[name]! : ''));
}

/** The environment variable carrying option `name`: `TANDEM_OPTION_` + upper case, other characters as `_`. */
export function optionEnvName(name: string): string {
  return `TANDEM_OPTION_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** `{env: 'prod'}` → `{TANDEM_OPTION_ENV: 'prod'}`. */
export function optionEnv(values: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) env[optionEnvName(name)] = value;
  return env;
}
