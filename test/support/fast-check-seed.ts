// Property tests run with a fixed seed so every run (and CI) checks the same cases; FC_SEED explores others.
import fc from 'fast-check';

fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261123) });
