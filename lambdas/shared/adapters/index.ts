// Adapters shared by several services.
export * from './decision-store.js';
export * from './event-publisher.js';
