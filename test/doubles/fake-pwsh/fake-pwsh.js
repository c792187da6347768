#!/usr/bin/env node
/**
 * TEST DOUBLE — fake-pwsh: a stand-in for the `pwsh` executable, for tests only (pwsh cannot be
 * installed on the build machines). Never use it outside tests.
 *
 * node-powershell spawns it exactly as it spawns pwsh (`<executable> -NoLogo -NoProfile
 * -NonInteractive -NoExit -Command -`). It speaks node-powershell's stdin/stdout protocol and executes
 * only the PowerShell subset t2t's PowerShell backend generates, parsed by a real tokenizer — nothing
 * is ever evaluated. See fake-pwsh-main.ts for its environment variables.
 *
 * This file only loads the TypeScript sources (transpiled in memory with the project's `typescript`).
 */
'use strict';
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = function loadTypeScript(mod, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      sourceMap: false,
    },
  });
  mod._compile(outputText, filename);
};

require('./fake-pwsh-main.ts')
  .main(process.argv.slice(2))
  .catch((e) => {
    process.stderr.write(`fake-pwsh crashed: ${e && e.stack ? e.stack : String(e)}\n`);
    process.exit(70);
  });
module.exports = {};
