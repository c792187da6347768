/** `npm run build` step: writes the workflow bundle next to the compiled code so workers start fast. */
import * as fs from 'node:fs';
import { buildWorkflowBundle, PREBUILT_BUNDLE } from './bundle';

buildWorkflowBundle()
  .then(({ code }) => {
    fs.writeFileSync(PREBUILT_BUNDLE, code);
    process.stderr.write(
      `workflow bundle written to ${PREBUILT_BUNDLE} (${Math.round(code.length / 1024)} KiB)\n`,
    );
  })
  .catch((err: unknown) => {
    process.stderr.write(`workflow bundle failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
