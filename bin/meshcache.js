#!/usr/bin/env node
// The published entry point: the compiled CLI (npm ci and npm run build make dist/).
import('../dist/src/cli/main.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('meshcache: dist/ is missing; run `npm run build` first')
    process.exit(1)
  }
  throw err
})
