// What the engine throws when the numbers themselves fail: a non-finite value where the arithmetic
// needs finite ones. The command line turns it into its own exit code, never a success.

export class NumericError extends Error {
  override readonly name = 'NumericError';
}
