// Option parsers shared by the fraud-detector commands (commander reports their messages as usage errors).
import { InvalidArgumentError } from 'commander';

export const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
};

export const seedValue = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new InvalidArgumentError(`expected an integer seed in 0..4294967295, got '${value}'`);
  }
  return n;
};

export const rate = (value: string): number => {
  const n = Number(value);
  if (!(n >= 0 && n < 0.5)) throw new InvalidArgumentError(`expected a rate in [0, 0.5), got '${value}'`);
  return n;
};
