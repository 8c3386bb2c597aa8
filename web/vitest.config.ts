// Unit tests (Vitest) of the console's pure modules: `*.test.ts` beside the code, run in Node.
// `npm test` runs them once; the type check of the test files (tsconfig.test.json) is part of
// the run, since `tsc -b` of the app leaves them out.
import { defineConfig, mergeConfig } from 'vitest/config';
import viteConfig from './vite.config';

export default mergeConfig(
  viteConfig,
  defineConfig({
    test: {
      include: ['src/**/*.test.ts'],
      environment: 'node',
      typecheck: {
        enabled: true,
        include: ['src/**/*.test.ts'],
        tsconfig: './tsconfig.test.json',
      },
    },
  }),
);
