// The champion pointer's values (an SSM parameter the registry owns): what the models API and the batch run read.

/** The champion pointer's value while the bundled model serves (see docs/decisions/0001-endpoint-owner.md). */
export const BOOTSTRAP_POINTER = 'bootstrap';

/** The version name a pointer names: the last folder of `…/versions/<version>/`, or `bootstrap`. */
export function versionOfPointer(pointer: string): string {
  if (pointer === BOOTSTRAP_POINTER) return BOOTSTRAP_POINTER;
  const match = /\/versions\/([^/]+)\/?$/.exec(pointer);
  return match?.[1] ?? pointer;
}
