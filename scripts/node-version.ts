/**
 * Fails early, with the fix, when the scripts run on a Node older than the project supports.
 * npm puts node_modules/.bin first on PATH, so after `npm ci` the `node` devDependency (Node 24)
 * runs every script even on a machine whose system Node is older.
 */
const [major] = process.versions.node.split('.').map(Number);
if ((major ?? 0) < 22) {
  console.error(
    `telemetry-stack needs Node 22 or 24 (this is ${process.version}). Run "npm ci" first: it installs Node 24 into node_modules, which npm scripts then use.`,
  );
  process.exit(1);
}
