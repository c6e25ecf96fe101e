// The features table's contract between its writer (the features service) and its readers (the score service): one
// item per entity, keyed by the entity's kind (as the model module names it) and its id.

/** Features-table key of an entity: `<kind>#<id>`, e.g. `customer#c-1`. */
export const aggregateKey = (kind: string, id: string): string => `${kind}#${id}`;
