#!/usr/bin/env node
// The published entry point: the compiled CLI (npm ci and npm run build make dist/).
// The Node.js version is checked here first, in plain JavaScript, so that an old Node
// prints one line instead of failing on the first syntax or API it lacks (keep the
// number equal to MIN_NODE_MAJOR in src/cli/node-version.ts; a test checks it).
const MIN_NODE_MAJOR = 22
if (Number(process.versions.node.split('.')[0]) < MIN_NODE_MAJOR) {
  console.error(`meshcache needs Node.js >= ${MIN_NODE_MAJOR}, this is v${process.versions.node}`)
  process.exit(1)
}
import('../dist/src/cli/main.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('meshcache: dist/ is missing; run `npm run build` first')
    process.exit(1)
  }
  throw err
})
