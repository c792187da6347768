#!/usr/bin/env node
'use strict';
// `npx t2t …` from the repository root once `make` has built dist/.
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('t2t is not built yet: run `make build` (or `make demo` / `make test`) first\n');
  process.exit(3);
}
require(entry)
  .main(process.argv.slice(2))
  .then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`error: ${err && err.message ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
