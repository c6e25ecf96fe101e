// The champion pointer's values (an SSM parameter the registry owns): what the models API and the batch run read.

/** The champion pointer's value while the bundled model serves (see docs/decisions/0001-endpoint-owner.md). */
export const BOOTSTRAP_POINTER = 'bootstrap';

/**
 * The version a pointer names: the last folder of `…/versions/<version>/` (a registered version's folder is named by
 * the version its model card records), or for `bootstrap` the version the bundled bootstrap card records — so the
 * models API, a batch run and every prediction name one model by one version.
 */
export function versionOfPointer(pointer: string, bootstrapVersion: string): string {
  if (pointer === BOOTSTRAP_POINTER) return bootstrapVersion;
  const match = /\/versions\/([^/]+)\/?$/.exec(pointer);
  return match?.[1] ?? pointer;
}
