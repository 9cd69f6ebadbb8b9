import tseslint from 'typescript-eslint';

export default tseslint.config(
  // src/openapi-metadata.ts is generated (npm run openapi:metadata).
  { ignores: ['dist/**', 'node_modules/**', 'var/**', 'coverage/**', 'test-output/**', '*.js', '*.mjs', 'src/openapi-metadata.ts'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
);
