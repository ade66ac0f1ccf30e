// Helpers of the command-line tests: the executable.

import { resolve } from 'node:path';

export const BIN = resolve(import.meta.dirname, '../../bin/lin-rfm.mjs');
