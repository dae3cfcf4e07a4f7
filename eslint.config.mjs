import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** `no-restricted-imports` patterns that keep a layer from importing the folders `names` of src/. */
function layers(message, ...names) {
  return [{ group: names.flatMap((n) => [`**/${n}`, `**/${n}/**`, `../${n}`, `../${n}/**`, `./${n}`, `./${n}/**`]), message }];
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.demo/**', 'coverage/**', 'nodes/**/*.html'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // The layers (see src/core/README.md): nodes → core → client, with src/net below the client and core;
  // the simulator is the client's opponent in tests, so only tests, bench and scripts import it.
  {
    files: ['src/net/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: layers('the net module imports nothing of the package', 'photoshelter', 'core', 'nodes', 'simulator') }] },
  },
  {
    files: ['src/photoshelter/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: layers('the client never imports core, nodes or the simulator', 'core', 'nodes', 'simulator') }] },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...layers('core never imports nodes or the simulator', 'nodes', 'simulator'), { group: ['node-red', 'node-red/*'], message: 'core has no Node-RED import' }] }] },
  },
  {
    files: ['src/nodes/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: layers('only tests, bench and scripts import the simulator', 'simulator') }] },
  },
  {
    files: ['src/simulator/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: layers('the simulator shares no code with the client, core or nodes', 'photoshelter', 'core', 'nodes', 'net') }] },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', fetch: 'readonly' },
    },
  },
);
