// What `@aims/model-module` (MODEL_MODULE_SPECIFIER in lib/constructs/service-function.ts) is to the type checker:
// some model's module. Each bundle of a function that serves a model resolves the specifier, at synth, to the module
// of the model its environment assigns it, so platform code imports a model without naming its folder.
import type { AnyModelModule } from './module.js';

declare const model: AnyModelModule;
export default model;
